"""Tiny image datasets for the model-build and QAT tests."""

from __future__ import annotations

import numpy as np
from PIL import Image

COLOURS = {"blue": (40, 60, 200), "red": (200, 50, 40)}


def make_images(root, per_class=12, size=40, seed=0, csv=False):
    """Noisy solid-colour pictures, one class per colour (a folder per class, or flat + labels.csv)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, rgb in COLOURS.items():
        for i in range(per_class):
            pixels = np.clip(np.asarray(rgb) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
            folder = root if csv else root / label
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{label}_{i:02d}.png")
            rows.append(f"{label}_{i:02d},{label}")
    if csv:
        (root / "labels.csv").write_text("image_id,label\n" + "\n".join(rows) + "\n")
    return root


# What a card's metrics hold for each of the float32 and int8 models.
METRIC_KEYS = {"roc_auc", "accuracy", "sensitivity", "specificity", "confusion_matrix", "size_bytes", "latency_ms"}


def cli_train_tiny(images, out) -> int:
    """`spotter model train` of the tiny test backbone at 32 px, no fine-tuning: its exit code."""
    from spotter.cli import main

    return main(
        [
            "model",
            "train",
            "--data",
            str(images),
            "--backbone",
            "tiny",
            "--size",
            "32",
            "--out",
            str(out),
            "--fine-tune-epochs",
            "0",
        ]
    )
