"""What the browser tests share: the Chromium to drive and its flags, photos to upload, and how
`spotter up` is started for them (the `browser_stack` fixture in conftest uses it)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_PHOTOS = ROOT.parent / "shared" / "data" / "isic-uda1"
SAMPLES = ROOT / "frontend" / "samples"
TEST_MODEL = ROOT / "tests" / "models" / "colours-int8.tflite"
RESULTS = ROOT / "test-results"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
START_TIMEOUT_S = 60
RESULT_TIMEOUT_MS = 40_000


def chromium_path() -> str:
    """The Chromium the browser tests drive; the test is skipped where there is none."""
    for candidate in (
        os.environ.get("SPOTTER_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("no Chromium on this machine (apt-get install chromium)")


def spotter_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "spotter"
    return [str(script)] if script.exists() else [sys.executable, "-m", "spotter.cli"]


def three_photos() -> list[Path]:
    """Three photos to upload: the demo data's where ../shared has it, else the page's samples."""
    photos = sorted(SHARED_PHOTOS.glob("*.jpg"))[:3] if SHARED_PHOTOS.is_dir() else []
    if len(photos) < 3:
        photos = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))[:3]
    assert len(photos) == 3, "need three images to upload"
    return photos


def open_page(browser, timeout_ms: int, width: int = 1280, height: int = 900):
    """A page in a fresh context (downloads on) that collects every page error and console error:
    (page, errors)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page, errors
