import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "models"
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tests"))

# Never let a test reach real AWS: fake credentials, one region, and moto's endpoint (below).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_METRICS_NAMESPACE="Spotter",
    POWERTOOLS_DEV="false",
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
    """A clean moto server for this test."""
    import urllib.request

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
