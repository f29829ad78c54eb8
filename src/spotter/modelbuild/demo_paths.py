"""Where the shipped demo model is built from and written to: the one list of them, light enough for
the CLI to import (no NumPy, no TensorFlow). The data and the base weights live in ../shared beside
the checkout; the model, its card and its split in model/."""

from __future__ import annotations

from spotter.config import DEFAULT_MODEL_FILE, REPO_MODEL_DIR

DEMO_NAME = "skin-lesion"
REPO_ROOT = REPO_MODEL_DIR.parent
SHARED = REPO_ROOT.parent / "shared"
DEMO_DATA = SHARED / "data" / "isic-uda1"
DEMO_MORE_DATA = (SHARED / "data" / "isic2017",)  # ISIC 2017 challenge training + validation photos
DEMO_FULL = SHARED / "data" / "isic-uda1-full"  # 20 of the photos at full resolution: test-only
DEMO_NON_SKIN = SHARED / "data" / "detect-samples"  # real photos that are not skin: the domain check's test
DEMO_WEIGHTS = SHARED / "weights" / "mobilenetv2_1.00_224_imagenet_notop.weights.h5"
DEMO_WORK_DIR = REPO_ROOT / "build" / DEMO_NAME  # the float Keras model, between builds
DEMO_KERAS = DEMO_WORK_DIR / f"{DEMO_NAME}.keras"
DEMO_TFLITE = REPO_MODEL_DIR / DEFAULT_MODEL_FILE
DEMO_SPLIT = REPO_MODEL_DIR / f"{DEMO_NAME}-split.json"
