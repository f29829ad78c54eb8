"""A deployed stack's served model, read from its classify function's layer (issue 28, item 1): with
`--stack` the readers count the model the stack serves, as the local stack's readers and the API do."""

from __future__ import annotations

import http.server
import io
import json
import threading
import zipfile
from pathlib import Path

import pytest

from spotter.adapters.served_model import ServedModelUnknown, served_model
from spotter.model.card import card_for_model

MODELS = Path(__file__).resolve().parents[1] / "models"


class RangeServer:
    """A local HTTP server that answers Range requests for one body, as S3 does, counting them."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.ranges: list[tuple[int, int]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                first, _, last = self.headers["Range"].removeprefix("bytes=").partition("-")
                start, end = int(first), min(int(last), len(owner.body) - 1)
                owner.ranges.append((start, end))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(owner.body)}")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                self.wfile.write(owner.body[start : end + 1])

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/layer.zip?X-Amz-Signature=x"

    def close(self) -> None:
        self.server.shutdown()


class FakeLambda:
    """The two Lambda calls the lookup makes, answering for one function with one layer."""

    def __init__(self, url: str, model_path: str = "/opt/model/colours-int8.tflite") -> None:
        self.url, self.model_path = url, model_path
        self.calls: list[str] = []

    def get_function_configuration(self, FunctionName: str) -> dict:
        self.calls.append("GetFunctionConfiguration")
        return {
            "Environment": {"Variables": {"SPOTTER_MODEL": self.model_path}},
            "Layers": [{"Arn": "arn:aws:lambda:us-east-1:1:layer:runtime:7"}],
        }

    def get_layer_version_by_arn(self, Arn: str) -> dict:
        self.calls.append("GetLayerVersionByArn")
        return {"Content": {"Location": self.url}}


def _layer(*members: str, padding: int = 3_000_000) -> bytes:
    """A runtime layer's zip: the python packages (here, incompressible padding) and the model files."""
    import os

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as layer:
        layer.writestr("python/lib/padding.bin", os.urandom(padding))
        for member in members:
            layer.write(MODELS / Path(member).name, member)
    return data.getvalue()


@pytest.fixture
def layer_server():
    servers = []

    def start(body: bytes) -> RangeServer:
        servers.append(RangeServer(body))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_the_served_model_is_read_from_the_layer_in_a_few_small_reads_and_kept(layer_server, tmp_path):
    body = _layer("model/colours-int8.tflite", "model/colours-int8.card.json")
    server = layer_server(body)
    lam = FakeLambda(server.url)
    kept = tmp_path / "served-models.json"
    expected = card_for_model(MODELS / "colours-int8.tflite").model_id
    assert served_model(lam, "classify", kept) == expected
    assert sum(end - start + 1 for start, end in server.ranges) < len(body) / 4  # not the whole layer
    server.ranges.clear()
    assert served_model(lam, "classify", kept) == expected  # kept per layer version: no layer read
    assert server.ranges == [] and lam.calls[-1] == "GetFunctionConfiguration"


def test_a_model_without_a_card_is_named_by_its_digest_as_the_function_names_it(layer_server, tmp_path):
    server = layer_server(_layer("model/colours-metadata-float32.tflite"))
    lam = FakeLambda(server.url, "/opt/model/colours-metadata-float32.tflite")
    found = served_model(lam, "classify", tmp_path / "kept.json")
    assert found == card_for_model(MODELS / "colours-metadata-float32.tflite").model_id and "@sha256-" in found


@pytest.mark.parametrize(
    ("model_path", "why"),
    [
        ("/opt/model/other.tflite", "holds no model/other.tflite"),
        ("/var/task/model.tflite", "names no model in one layer"),
        ("", "names no model in one layer"),
    ],
)
def test_an_unknown_served_model_says_why(layer_server, tmp_path, model_path, why):
    server = layer_server(_layer("model/colours-int8.tflite", "model/colours-int8.card.json", padding=10))
    with pytest.raises(ServedModelUnknown, match=why):
        served_model(FakeLambda(server.url, model_path), "classify", tmp_path / "kept.json")


def test_stats_with_stack_counts_the_model_the_stack_serves(stack, layer_server, tmp_path, monkeypatch, capsys):
    """Two model versions in the table (as after a reprocess): `--stack` reads the served one only,
    and says which, where it read every version (and said so) before."""
    from records_helpers import make_record

    import spotter.adapters.aws as aws
    from spotter.adapters.dynamodb import DynamoPredictions
    from spotter.cli import main as spotter
    from spotter.cli import target

    served = card_for_model(MODELS / "colours-int8.tflite").model_id
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    for i in range(4):
        DynamoPredictions(table).put(make_record(i, model="old@1"))
        DynamoPredictions(table).put(make_record(i, model=served))
    server = layer_server(_layer("model/colours-int8.tflite", "model/colours-int8.card.json", padding=10))
    outputs = {"PredictionsTableName": table.name, "ClassifyFunctionName": "classify"}
    monkeypatch.setattr("spotter.adapters.cloudformation.stack_outputs", lambda cfn, name: outputs)
    monkeypatch.setattr("spotter.adapters.ssm.drone_target", lambda ssm, name: {"bucket": "b", "prefix": "drones/"})
    real = aws.client

    def client(service, *args, **kwargs):
        return FakeLambda(server.url) if service == "lambda" else real(service, *args, **kwargs)

    monkeypatch.setattr(aws, "client", client)
    monkeypatch.setenv("SPOTTER_CACHE_DIR", str(tmp_path / "cache"))
    target._served_by.cache_clear()
    assert spotter(["stats", "--stack", "prod", "--by", "model", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert {row["model"]: row["count"] for row in json.loads(out)} == {served: 4}, (out, err)
    assert f"model {served} (the one served now" in err
