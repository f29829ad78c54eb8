"""The default limits on an image: one source for the decoder's (`imaging.DecodeLimits`) and the
deployed settings' (`config.Settings`, which the environment may override). Plain numbers, so the
settings read them without importing the decoder."""

from __future__ import annotations

MiB = 1024 * 1024
MAX_UPLOAD_BYTES = 25 * MiB
MAX_IMAGE_PIXELS = 89_000_000
MAX_FRAMES = 10_000  # TIFF pages / GIF frames, counted without decoding them
MAX_JPEG_SCANS = 100  # libjpeg's progressive scripts use 10; each extra scan costs a full pass
MAX_MODEL_BYTES = 512 * MiB  # a .tflite model read whole; a Lambda layer holds 250 MB unzipped
