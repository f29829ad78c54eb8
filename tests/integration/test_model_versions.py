"""One rule for model versions in every reader: after `spotter reprocess` with a new model, `spotter
stats/query/export/sql` and the API read the model served now unless --model VERSION or --model all
is given, and an answer that spans versions says so. Run on moto with the real classify handler."""

from __future__ import annotations

import base64
import csv
import io
import json

import images
import pytest
from conftest import MODELS

from spotter.cli import main as spotter

OLD, NEW = "colours-int8@1.0.0", "colours-float32@1.0.0"
KEYS = ["drones/hawk/f1/a.jpg", "drones/hawk/f1/b.jpg", "drones/hawk/f1/c.jpg", "drones/owl/d.jpg"]


@pytest.fixture
def reprocessed(stack, monkeypatch, tmp_path):
    """Four images classified by OLD, then reprocessed by NEW (now served): two records each. Returns
    the local stack's state folder, whose local.json names NEW as the model it serves."""
    from spotter.local.lambda_runtime import load_handler_module
    from spotter.local.sqs_trigger import SqsTrigger

    for key, colour in zip(KEYS, (images.RED, images.BLUE, images.GREEN, images.RED)):
        stack.put(key, images.jpeg(colour))
    stack.drain()
    monkeypatch.setenv("SPOTTER_MODEL", str(MODELS / "colours-float32.tflite"))  # "deploy" a new model
    upgraded = SqsTrigger(stack.sqs, stack.queue_url, load_handler_module("classify").lambda_handler)
    assert spotter(["reprocess", "--bucket", stack.spec.bucket, "--queue-url", stack.queue_url]) == 0
    upgraded.drain()
    assert sorted(r["model"] for r in stack.records()) == sorted([OLD, NEW] * 4)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.setenv(name, "us-east-1" if "REGION" in name else "local")  # restored after the test
    state = tmp_path / "state"
    state.mkdir()
    local = {
        "s3": stack.s3.meta.endpoint_url,
        "bucket": stack.spec.bucket,
        "table": stack.spec.predictions.name,
        "queue": stack.queue_url,
        "model": NEW,
    }
    (state / "local.json").write_text(json.dumps(local))
    return state


def _run(argv, capsys):
    """(exit code, stdout, stderr) of a command that finds its target as an analyst's shell would: the
    stack's names are not in its environment (the classify and API handlers here read them from it)."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("UPLOADS_BUCKET", "PREDICTIONS_TABLE", "CLASSIFY_QUEUE_URL", "CLASSIFY_DLQ_URL"):
            env.delenv(name, raising=False)
        code = spotter(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _api_get(monkeypatch, path):
    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    monkeypatch.setenv("ALLOWED_ORIGINS", "http://127.0.0.1:8123")
    module = load_handler_module("api")  # serves SPOTTER_MODEL: NEW
    response = module.lambda_handler(
        http_api_event("GET", path, {"origin": "http://127.0.0.1:8123"}, b""), LambdaContext("api")
    )
    body = response.get("body", "")
    return response["statusCode"], json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


def test_stats_counts_the_served_model_as_the_api_does_and_all_on_request(reprocessed, capsys, monkeypatch):
    code, out, err = _run(["stats", "--by", "source", "--format", "json", "--state-dir", str(reprocessed)], capsys)
    assert code == 0
    cli = {r["source"]: r["count"] for r in json.loads(out)}
    assert cli == {"hawk": 3, "owl": 1}  # each image once, not once per model version
    assert f"model {NEW} (the one served now; --model all" in err
    status, body = _api_get(monkeypatch, "/stats?by=source")
    assert status == 200 and {g["source"]: g["count"] for g in body["groups"]} == cli
    assert not any("model versions" in n for n in body["notes"])

    code, out, err = _run(["stats", "--by", "source", "--model", "all", "--format", "json",
                           "--state-dir", str(reprocessed)], capsys)  # fmt: skip
    assert code == 0 and {r["source"]: r["count"] for r in json.loads(out)} == {"hawk": 6, "owl": 2}
    assert f"span 2 model versions ({NEW}: 4, {OLD}: 4)" in err  # said, since counts mix models
    status, body = _api_get(monkeypatch, "/stats?by=source&model=all")
    assert {g["source"]: g["count"] for g in body["groups"]} == {"hawk": 6, "owl": 2}
    assert any(f"span 2 model versions ({NEW}: 4, {OLD}: 4)" in n for n in body["notes"])

    code, out, err = _run(["stats", "--by", "model", "--model", "ALL", "--format", "json",
                           "--state-dir", str(reprocessed)], capsys)  # fmt: skip
    assert {r["model"]: r["count"] for r in json.loads(out)} == {OLD: 4, NEW: 4} and "span" not in err  # split

    code, out, err = _run(["stats", "--by", "source", "--model", OLD, "--format", "json",
                           "--state-dir", str(reprocessed)], capsys)  # fmt: skip
    assert code == 0 and {r["source"]: r["count"] for r in json.loads(out)} == {"hawk": 3, "owl": 1}
    assert "span" not in err and "served now" not in err


def test_query_and_export_read_the_served_model_unless_asked(reprocessed, capsys):
    state = ["--state-dir", str(reprocessed)]
    code, out, _ = _run(["query", "--source", "hawk", "--format", "jsonl", *state], capsys)
    assert code == 0 and sorted(json.loads(line)["model"] for line in out.splitlines()) == [NEW] * 3
    code, out, err = _run(["query", "--source", "hawk", "--model", "all", "--format", "jsonl", *state], capsys)
    assert code == 0 and sorted(json.loads(line)["model"] for line in out.splitlines()) == sorted([NEW, OLD] * 3)
    assert "span 2 model versions" in err
    code, out, err = _run(["export", "--format", "csv", "--output", "-", *state], capsys)
    assert code == 0 and [r["model"] for r in csv.DictReader(io.StringIO(out))] == [NEW] * 4
    code, out, err = _run(["export", "--format", "csv", "--output", "-", "--model", "all", *state], capsys)
    assert code == 0 and sorted(r["model"] for r in csv.DictReader(io.StringIO(out))) == sorted([NEW, OLD] * 4)
    assert "span 2 model versions" in err


def test_without_knowing_the_served_model_a_mixed_answer_says_so(reprocessed, stack, capsys):
    """--table names the table alone: which model the stack serves is not known, so every version is
    read, and the note says the counts mix them."""
    code, out, err = _run(["stats", "--by", "source", "--format", "json", "--table", stack.spec.predictions.name],
                          capsys)  # fmt: skip
    assert code == 0 and {r["source"]: r["count"] for r in json.loads(out)} == {"hawk": 6, "owl": 2}
    assert "span 2 model versions" in err and "--model VERSION" in err


def test_sql_holds_the_served_model_unless_asked(reprocessed, capsys, tmp_path):
    count = "SELECT model, count(*) AS n FROM predictions GROUP BY model ORDER BY model"
    state = ["--state-dir", str(reprocessed), "--format", "json"]
    code, out, err = _run(["sql", *state, count], capsys)
    assert code == 0 and json.loads(out) == [{"model": NEW, "n": 4}]
    assert f"`predictions` holds model {NEW} (the one served now" in err
    code, out, err = _run(["sql", *state, "--model", "all", "--keep", str(tmp_path / "kept"), count], capsys)
    assert code == 0 and json.loads(out) == [{"model": NEW, "n": 4}, {"model": OLD, "n": 4}]
    assert "the table `predictions` spans 2 model versions" in err
    code, out, err = _run(["sql", *state, "--model", "COLOURS-INT8", count], capsys)  # a short form, any case
    assert code == 0 and json.loads(out) == [{"model": OLD, "n": 4}] and f"matched as '{OLD}'" in err
    # --data: which model a stack serves is not known there; every version, and said
    code, out, err = _run(["sql", "--data", str(tmp_path / "kept"), "--format", "json", count], capsys)
    assert code == 0 and len(json.loads(out)) == 2 and "spans 2 model versions" in err
    code, out, err = _run(["sql", "--data", str(tmp_path / "kept"), "--model", "m@9", count], capsys)
    assert code == 2 and f"no model 'm@9' in the data; known models: {NEW}, {OLD}" in err


def test_compare_sets_two_versions_side_by_side_on_the_same_images(reprocessed, stack, capsys):
    from decimal import Decimal

    table = stack.dynamodb.Table(stack.spec.predictions.name)
    old = {r["key"]: r for r in stack.records() if r["model"] == OLD}
    changed = next(r for r in stack.records() if r["model"] == NEW and r["key"] == "drones/owl/d.jpg")
    top = [{"label": "blue", "score": Decimal("0.6")}, {"label": "red", "score": Decimal("0.25")}]
    table.update_item(  # the new model changes its mind on one image
        Key={"object_id": changed["object_id"], "model": NEW},
        UpdateExpression="SET label = :l, score = :s, top = :t",
        ExpressionAttributeValues={":l": "blue", ":s": Decimal("0.6"), ":t": top},
    )
    table.delete_item(Key={"object_id": old["drones/hawk/f1/c.jpg"]["object_id"], "model": NEW})  # not reprocessed

    code, out, err = _run(["compare", "Colours-Int8", NEW, "--format", "json", "--state-dir", str(reprocessed)], capsys)
    assert code == 0, err
    rows = {(r["old"], r["new"]): r for r in json.loads(out)}
    assert {k: r["images"] for k, r in rows.items()} == {("red", "red"): 1, ("blue", "blue"): 1, ("red", "blue"): 1}
    moved = rows["red", "blue"]
    assert moved["mean_old_score"] == pytest.approx(float(old["drones/owl/d.jpg"]["score"]))
    assert moved["mean_shift"] == pytest.approx(0.25 - float(old["drones/owl/d.jpg"]["score"]), abs=1e-6)
    assert f"3 images classified by both {OLD} and {NEW}: 2 agree (66.7%), 1 changed; 1 from {OLD} only" in err
    assert "model 'Colours-Int8' matched as" in err  # a short form, as --model takes it

    code, out, err = _run(["compare", OLD, OLD, "--state-dir", str(reprocessed)], capsys)
    assert code == 2 and "same model version" in err
    code, out, err = _run(["compare", OLD, "m@9", "--state-dir", str(reprocessed)], capsys)
    assert code == 2 and "no model 'm@9' in the table" in err


def test_the_api_lists_the_served_model_and_says_when_a_page_spans_versions(reprocessed, monkeypatch):
    status, body = _api_get(monkeypatch, "/predictions?source=hawk")
    assert status == 200 and [i["model"] for i in body["items"]] == [NEW] * 3 and body["notes"] == []
    status, body = _api_get(monkeypatch, "/predictions?source=hawk&model=all")
    assert sorted(i["model"] for i in body["items"]) == sorted([NEW, OLD] * 3)
    assert any(f"span 2 model versions ({NEW}: 3, {OLD}: 3)" in n for n in body["notes"])


def test_a_served_model_with_no_records_yet_says_where_the_others_are(reprocessed, capsys):
    """After a new model is deployed and before a reprocess, its records are few or none: an empty answer
    says that other versions' records exist rather than look like an empty table."""
    local = json.loads((reprocessed / "local.json").read_text())
    (reprocessed / "local.json").write_text(json.dumps({**local, "model": "colours-next@2.0.0"}))
    code, out, err = _run(["stats", "--source", "hawk", "--format", "json", "--state-dir", str(reprocessed)], capsys)
    assert code == 0 and json.loads(out) == []
    assert "no record of colours-next@2.0.0 (the one served now) matches" in err and "--model all" in err
