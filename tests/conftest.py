import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "models"
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the shared helpers (fakes, stack, browser, ...)

# Never let a test reach real AWS: fake credentials, one region, and moto's endpoint (below).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_METRICS_NAMESPACE="Spotter",
    POWERTOOLS_DEV="false",
    SPOTTER_CACHE_DIR=tempfile.mkdtemp(prefix="spotter-test-cache-"),  # `spotter sql`'s kept exports
)
for _var in ("AWS_PROFILE", "AWS_CONFIG_FILE"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    server.stop()


@pytest.fixture
def moto(moto_endpoint):
    """A clean moto server for this test (and this process's clients pointed at it again: a test that
    ran a command with its own --endpoint-url left that one in the environment)."""
    import urllib.request

    os.environ["AWS_ENDPOINT_URL"] = moto_endpoint
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()
    yield moto_endpoint


@pytest.fixture
def int8_model() -> Path:
    return MODELS / "colours-int8.tflite"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "data" / "isic-uda1").is_dir():
        pytest.skip("../shared data is not present")
    return SHARED


@pytest.fixture
def stack(moto, int8_model):
    from stack import make_stack

    return make_stack(int8_model)


@pytest.fixture
def retry_at_once_stack(moto, int8_model):
    """The test stack with its queue's visibility timeout at 0: a failed message is redelivered at once."""
    from stack import RETRY_AT_ONCE_SPEC, make_stack

    return make_stack(int8_model, RETRY_AT_ONCE_SPEC)


def start_local_stack(state_dir: Path, model: Path | None = None, *extra: str, timeout_s: float = 60.0):
    """Run `spotter up` as a user would; returns (process, endpoints from local.json)."""
    import json
    import subprocess

    from waiting import wait_until

    command = [
        sys.executable,
        "-m",
        "spotter.cli",
        "up",
        "--state-dir",
        str(state_dir),
        "--visibility-timeout",
        "2",
        *extra,
    ]
    if model is not None:
        command += ["--model", str(model)]
    log = open(state_dir / "spotter-up.log", "w+")  # a file, not a pipe nobody reads (it would fill and block)
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env=clean_env())
    local = state_dir / "local.json"
    wait_until(lambda: local.exists() or process.poll() is not None, timeout_s, 0.2, fail=False)
    if not local.exists():
        process.kill()
        log.seek(0)
        pytest.fail(f"spotter up did not start:\n{log.read()}")
    # local.json is written before the banner; tests read the banner, so wait for its last line too
    banner = state_dir / "spotter-up.log"
    wait_until(
        lambda: "Ctrl-C stops everything" in banner.read_text() or process.poll() is not None, 15, 0.1, fail=False
    )
    return process, json.loads(local.read_text())


@pytest.fixture(scope="module")
def spotter_up(tmp_path_factory):
    """`spotter up` (python -m spotter.cli) on the test model, shared by a module's tests; yields
    {"process", "endpoints" (local.json), "state" (its state folder)}; stopped at the end if still running."""
    import subprocess

    state = tmp_path_factory.mktemp("state")
    process, endpoints = start_local_stack(state, MODELS / "colours-int8.tflite")
    yield {"process": process, "endpoints": endpoints, "state": state}
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def clean_env(**extra) -> dict:
    """The environment a user's shell would have: none of the settings tests set in this process."""
    drop = {
        "AWS_ENDPOINT_URL",
        "UPLOADS_BUCKET",
        "PREDICTIONS_TABLE",
        "SPOTTER_MODEL",
        "CLASSIFY_QUEUE_URL",
        "CLASSIFY_DLQ_URL",
        "ALLOWED_ORIGINS",
        "MAX_UPLOAD_BYTES",
    }
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


@pytest.fixture
def browser_stack(tmp_path, request):
    """For the browser tests, one per test: `spotter up` (the installed script) on free ports; yields the endpoints from local.json; SIGTERM at the end.
    The model is the demo's (or the test model's); a test picks another with
    `@pytest.mark.parametrize("browser_stack", [MODEL_PATH], indirect=True)`."""
    import json
    import signal
    import subprocess

    from browser import START_TIMEOUT_S, TEST_MODEL, spotter_command
    from waiting import wait_until

    from spotter.config import default_model_path

    state_dir = tmp_path / "state"
    command = [
        *spotter_command(),
        "up",
        "--host",
        "127.0.0.1",
        "--web-port",
        "0",
        "--api-port",
        "0",
        "--s3-port",
        "0",
        "--no-browser",
        "--state-dir",
        str(state_dir),
    ]
    chosen = getattr(request, "param", None)  # a model the test asked for (indirect parametrization)
    if chosen is not None:
        command += ["--model", str(chosen)]
    elif not default_model_path().exists():  # the demo model is built separately; the test model will do
        command += ["--model", str(TEST_MODEL)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    log_path = tmp_path / "spotter-up.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    local_json = state_dir / "local.json"
    try:
        wait_until(lambda: local_json.exists() or process.poll() is not None, START_TIMEOUT_S, 0.2, fail=False)
        if not local_json.exists():
            if process.poll() is not None:
                pytest.fail(
                    f"spotter up exited with {process.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            pytest.fail(
                f"spotter up wrote no local.json in {START_TIMEOUT_S} s:\n{log_path.read_text(errors='replace')[-3000:]}"
            )
        yield json.loads(local_json.read_text())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """tests/unit runs with no server (`make check`): a test there that asks for moto is in the wrong tier."""
    if item.path.parent.name == "unit" and {"moto_endpoint", "spotter_up", "browser_stack"} & set(
        getattr(item, "fixturenames", ())
    ):
        pytest.fail("tests/unit runs without a server: a test that needs moto or a stack belongs in tests/integration")
