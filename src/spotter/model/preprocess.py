"""The preprocessing contract: how a decoded picture becomes the model's input picture.

One implementation, used by the runtime (`Classifier.preprocess`) and by the model build (training,
calibration and evaluation images), and written on the model card (`input`), so both sides make the
same tensor from the same photo.

Before this step, `spotter.ingest.imaging.decode_image` has turned the file into 8-bit RGB: EXIF orientation
applied, transparency flattened onto white, 16-bit channels scaled to 8 bits, no ICC colour conversion
(pixel values as stored, taken as sRGB), and a large JPEG decoded at a reduced DCT scale (draft) that
never goes below twice the input size. This step then:

- `center_crop`: cuts the largest centred box with the input's aspect ratio (integer pixel box,
  left/top = floor((W - w) / 2)), then resizes it;
- `pad`: centres the picture on a canvas of the input's aspect ratio filled with `pad_colour`, then
  resizes it (nothing is cut; the lesion gets smaller);
- `squash`: resizes the whole frame to the input size (a 4:3 photo is distorted).

The resize is Pillow's `Image.resize` with `filter` (default bilinear, antialiased: Pillow's filters
widen with the downscale factor) and `reducing_gap` (default 3.0: first a box-average by an integer
factor while the picture is over 3x the target, then the filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

from spotter.errors import ModelError

RESIZE_MODES = ("center_crop", "pad", "squash")
FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
COLOUR = (
    "8-bit RGB from spotter.ingest.imaging.decode_image: EXIF orientation applied, transparency flattened onto "
    "white, 16-bit channels scaled to 8 bits, no ICC conversion (stored values taken as sRGB); large JPEGs "
    "decoded at a reduced DCT scale, never below twice the input size"
)


@dataclass(frozen=True)
class InputContract:
    """Everything between a decoded RGB picture and the uint8 pixels the scaling is applied to."""

    size: tuple[int, int]  # (width, height)
    resize: str = "squash"
    filter: str = "bilinear"
    reducing_gap: float | None = 3.0
    pad_colour: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_MODES:
            raise ModelError(f"card input.resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        if self.filter not in FILTERS:
            raise ModelError(f"card input.filter must be one of {', '.join(FILTERS)}, got {self.filter!r}")
        if self.reducing_gap is not None and not self.reducing_gap >= 1.0:
            raise ModelError(f"card input.reducing_gap must be at least 1 (or null), got {self.reducing_gap!r}")

    def apply(self, image: Image.Image) -> Image.Image:
        """The picture the network sees (before scaling), at `size`."""
        return fit(image, self.size, self.resize, self.filter, self.reducing_gap, self.pad_colour)

    def to_json(self) -> dict[str, Any]:
        return {
            "resize": self.resize,
            "filter": self.filter,
            "reducing_gap": self.reducing_gap,
            **({"pad_colour": list(self.pad_colour)} if self.resize == "pad" else {}),
            "colour": COLOUR,
        }

    @classmethod
    def from_json(cls, size: tuple[int, int], spec: dict[str, Any]) -> InputContract:
        gap = spec.get("reducing_gap", 3.0)
        colour = tuple(int(c) for c in spec.get("pad_colour", (0, 0, 0)))
        if len(colour) != 3:
            raise ModelError(f"card input.pad_colour must be three 0..255 values, got {spec.get('pad_colour')!r}")
        return cls(
            size=size,
            resize=str(spec.get("resize", "squash")),
            filter=str(spec.get("filter", "bilinear")),
            reducing_gap=None if gap is None else float(gap),
            pad_colour=colour,
        )


def center_box(width: int, height: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred box of `width` x `height` with the aspect ratio of `size`."""
    target_w, target_h = size
    if width * target_h > height * target_w:  # wider than the target: cut the sides
        w, h = max(1, round(height * target_w / target_h)), height
    else:
        w, h = width, max(1, round(width * target_h / target_w))
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def fit(
    image: Image.Image,
    size: tuple[int, int],
    mode: str = "squash",
    filter: str = "bilinear",
    reducing_gap: float | None = 3.0,
    pad_colour: tuple[int, int, int] = (0, 0, 0),
) -> Image.Image:
    size = (int(size[0]), int(size[1]))
    resample = FILTERS[filter]
    if mode == "center_crop":
        box = center_box(*image.size, size)
        return image.resize(size, resample, box=box, reducing_gap=reducing_gap)
    if mode == "pad":
        width, height = image.size
        if width * size[1] > height * size[0]:
            canvas_size = (width, max(height, round(width * size[1] / size[0])))
        else:
            canvas_size = (max(width, round(height * size[0] / size[1])), height)
        if canvas_size != image.size:
            canvas = Image.new("RGB", canvas_size, tuple(pad_colour))
            canvas.paste(image, ((canvas_size[0] - width) // 2, (canvas_size[1] - height) // 2))
            image = canvas
        return image.resize(size, resample, reducing_gap=reducing_gap)
    if mode == "squash":
        return image.resize(size, resample, reducing_gap=reducing_gap)
    raise ModelError(f"unknown resize mode {mode!r}; expected one of {', '.join(RESIZE_MODES)}")
