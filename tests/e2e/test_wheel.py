"""Packaging: the built wheel, installed with its declared dependencies into a fresh venv and run from
outside the checkout. The core (what the Lambda layer holds) predicts with the demo model and names the
extra a missing command needs; with `[local,analyst]` it runs the local stack and `spotter sql` on it.

The wheel is built offline with .venv's setuptools (no build isolation); its dependencies come from the
package index pip is configured with, exactly as a user's `pip install` gets them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "frontend" / "samples" / "ISIC_0000036.jpg"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    """The parent's environment without what would point the child at the checkout or at AWS."""
    drop = ("PYTHONPATH", "SPOTTER_MODEL", "AWS_ENDPOINT_URL", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(*cmd: str | Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], check=True, capture_output=True, text=True, timeout=timeout, env=_env()
    )


def _pip_install(python: Path, *requirements: str) -> None:
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check", *requirements)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, ROOT)
    (built,) = dist.glob("spotter-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv holding the wheel and its core dependencies only."""
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _pip_install(python, str(wheel))
    where = _run(python, "-c", "import spotter; print(spotter.__file__)").stdout.strip()
    assert Path(where).is_relative_to(venv), f"spotter imported from {where}, not the wheel"
    return venv


def _spotter(venv: Path, cwd: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "spotter"), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def test_the_core_install_predicts_with_the_demo_model(venv: Path, tmp_path: Path):
    out = _spotter(venv, tmp_path, "predict", str(SAMPLE))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[0])
    assert result["label"] in {"benign", "malignant"}, result
    for module in ("moto", "duckdb", "pyarrow", "matplotlib", "tensorflow"):  # the core stays the layer's size
        found = _run(venv / "bin" / "python", "-c", f"import importlib.util as u; print(u.find_spec({module!r}))")
        assert found.stdout.strip() == "None", f"{module} came with the core install"


@pytest.mark.parametrize(
    ("command", "extra"),
    [(("up",), "local"), (("sql", "--data", ".", "SELECT 1"), "analyst"), (("model", "build-demo"), "build")],
)
def test_a_command_whose_extra_is_missing_names_the_extra(venv: Path, tmp_path: Path, command: tuple[str, ...], extra):
    out = _spotter(venv, tmp_path, *command)
    assert out.returncode != 0
    assert f"pip install 'spotter[{extra}]'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr, out.stderr


@pytest.fixture(scope="module")
def with_extras(venv: Path, wheel: Path) -> Iterator[Path]:
    """The same venv after `pip install 'spotter[local,analyst]'` (runs after the core-only tests above)."""
    _pip_install(venv / "bin" / "python", f"{wheel}[local,analyst]")
    yield venv


def test_the_wheel_with_extras_runs_the_local_stack_and_sql(with_extras: Path, tmp_path: Path):
    helped = _spotter(with_extras, tmp_path, "up", "--help")
    assert helped.returncode == 0 and "--state-dir" in helped.stdout, helped.stderr
    log = open(tmp_path / "up.log", "w")  # a file, not a pipe nobody reads
    up = subprocess.Popen(
        [str(with_extras / "bin" / "spotter"), "up"],  # ports 0: free ones; state in ./.spotter
        cwd=tmp_path,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        local = tmp_path / ".spotter" / "local.json"
        wait_until(lambda: local.exists() or up.poll() is not None, 90, 0.3, fail=False)
        assert local.exists(), (tmp_path / "up.log").read_text()
        urls = json.loads(local.read_text())
        page = requests.get(urls["web"] + "/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert requests.get(urls["web"] + "/app.js", timeout=10).status_code == 200
        model = requests.get(urls["api"] + "/model", timeout=10)
        assert model.status_code == 200, model.text
        assert model.json().get("labels"), model.text
        sql = _spotter(with_extras, tmp_path, "sql", "--format", "json", "SELECT count(*) AS n FROM predictions")
        assert sql.returncode == 0, sql.stderr
        assert json.loads(sql.stdout) == [{"n": 0}], sql.stdout
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        log.close()
