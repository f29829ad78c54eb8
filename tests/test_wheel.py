"""Packaging (issue 19, item 5): a built wheel, installed into a fresh venv and run from outside the
checkout, finds the demo model, the page, the template and the handlers as package data.

Offline: the wheel is built with .venv's setuptools (no build isolation) and installed with
--no-deps --no-index; the fresh venv sees .venv's site-packages (the dependencies) through a .pth
file added after the install, so pip never sees .venv's editable spotter and imports find the
wheel's first (the venv's own site-packages precede a .pth's paths)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import requests
from waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "frontend" / "samples" / "ISIC_0000036.jpg"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    """The parent's environment without what would point the child at the checkout or at AWS."""
    drop = ("PYTHONPATH", "SPOTTER_MODEL", "AWS_ENDPOINT_URL", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `spotter` console script of a fresh venv holding only the built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    run = lambda *cmd: subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)  # noqa: E731
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp / "dist"),
        str(ROOT),
    )
    (wheel,) = (tmp / "dist").glob("spotter-*.whl")
    venv = tmp / "v"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel))
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (site / "dot-venv-deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    where = run(str(python), "-c", "import spotter; print(spotter.__file__)").stdout.strip()
    assert Path(where).is_relative_to(venv), f"spotter imported from {where}, not the wheel"
    probe = "from spotter.config import default_model_path, shipped; from spotter.local import lambda_runtime, stack, template; "
    probe += (
        "print(default_model_path(), shipped('model/skin-lesion-int8.card.json'), stack.FRONTEND, template.TEMPLATE, "
    )
    probe += "lambda_runtime.FUNCTIONS_DIR / 'classify' / 'app.py', lambda_runtime.FUNCTIONS_DIR / 'api' / 'app.py')"
    for path in map(Path, run(str(python), "-c", probe).stdout.split()):  # the package's data, not the checkout's
        assert path.is_relative_to(Path(where).parent / "_data") and path.exists(), path
    return venv / "bin" / "spotter"


def test_the_wheel_predicts_with_the_demo_model(installed: Path, tmp_path: Path):
    out = subprocess.run(
        [str(installed), "predict", str(SAMPLE)], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[0])
    assert result["label"] in {"benign", "malignant"}, result


def test_the_wheel_runs_the_local_stack(installed: Path, tmp_path: Path):
    helped = subprocess.run([str(installed), "up", "--help"], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert helped.returncode == 0 and "--state-dir" in helped.stdout, helped.stderr
    log = open(tmp_path / "up.log", "w")  # a file, not a pipe nobody reads
    up = subprocess.Popen(
        [str(installed), "up", "--state-dir", str(tmp_path / "state")],  # ports 0: free ones
        cwd=tmp_path,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        local = tmp_path / "state" / "local.json"
        wait_until(lambda: local.exists() or up.poll() is not None, 90, 0.3, fail=False)
        assert local.exists(), (tmp_path / "up.log").read_text()
        urls = json.loads(local.read_text())
        page = requests.get(urls["web"] + "/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert requests.get(urls["web"] + "/app.js", timeout=10).status_code == 200
        model = requests.get(urls["api"] + "/model", timeout=10)
        assert model.status_code == 200, model.text
        assert model.json().get("labels"), model.text
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        log.close()
