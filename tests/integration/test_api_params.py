"""The API's parameters read as the CLI reads them: declared upload sizes, time bounds, label/source/model
names and cursors bound to their filters; and Parquet output that survives an out-of-range number."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from records_helpers import make_record

from spotter.records import normalise_time, object_id_for, parse_time

ORIGIN = "http://127.0.0.1:8123"
HUGE = 10**30


# --- 1. declared sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [HUGE, 2**63, -1, 1.5, 1e6, "1000", True, None])
def test_a_declared_size_that_is_not_a_sane_integer_is_a_400_naming_the_field(size):
    from spotter.web.uploads import UploadRequestError, parse_files

    with pytest.raises(UploadRequestError, match=r'files\[0\] \(a.jpg\) "size" must be a whole number'):
        parse_files({"files": [{"name": "a.jpg", "type": "image/jpeg", "size": size}]})


def test_the_largest_declared_size_is_refused_per_file_and_its_record_fits_int64():
    from spotter.results.tabular import INT64_MAX
    from spotter.web.uploads import MAX_DECLARED_BYTES, RefusedFile, parse_files, plan_uploads, refusal_record

    files, _ = parse_files({"files": [{"name": "a.jpg", "type": "image/jpeg", "size": MAX_DECLARED_BYTES}]})
    [plan] = plan_uploads(files, "b1", "bucket", 25 * 1024 * 1024)
    assert isinstance(plan, RefusedFile) and "over the 25 MiB limit" in plan.error
    record = refusal_record(plan, "b1", "bucket", "m", "1")
    assert record.size == MAX_DECLARED_BYTES <= INT64_MAX


def test_parquet_writers_null_an_out_of_range_number_in_an_older_record(tmp_path):
    import pyarrow.parquet as pq

    from spotter.results.parquet_copy import write_layout
    from spotter.results.tabular import write_parquet

    older = [make_record(1, size=HUGE, width=-(2**70), latitude=HUGE**11), make_record(2, size=1234, frames=3)]
    write_parquet(older, tmp_path / "q.parquet")
    rows = {r["file_name"]: r for r in pq.read_table(tmp_path / "q.parquet").to_pylist()}
    assert (rows["1.jpg"]["size"], rows["1.jpg"]["width"], rows["1.jpg"]["latitude"]) == (None, None, None)
    assert (rows["2.jpg"]["size"], rows["2.jpg"]["frames"]) == (1234, 3)
    assert write_layout(older, tmp_path / "layout") == 2


# --- the API on moto ----------------------------------------------------------------------------


@pytest.fixture
def api(stack, monkeypatch):
    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    monkeypatch.setenv("ALLOWED_ORIGINS", ORIGIN)
    module = load_handler_module("api")

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"content-type": "application/json", "origin": ORIGIN}
        response = module.lambda_handler(http_api_event(method, path, headers, data), LambdaContext("api"))
        text = response.get("body", "")
        text = base64.b64decode(text).decode() if response.get("isBase64Encoded") else text
        return response["statusCode"], response.get("headers", {}), text

    call.module = module  # type: ignore[attr-defined]
    call.stack = stack  # type: ignore[attr-defined]
    return call


def _json(result):
    status, _, text = result
    return status, json.loads(text)


def _seed(api, records):
    from spotter.adapters.dynamodb import DynamoPredictions

    store = DynamoPredictions(api.stack.dynamodb.Table(api.stack.spec.predictions.name))
    for record in records:
        assert store.put(record)


def _record(i, **changes):
    key = f"drones/{changes.get('source', 'owl')}/f/{i}.jpg"
    return make_record(i, object_id=object_id_for("b", key), key=key, batch="f", **changes)


def test_an_absurd_declared_size_is_a_400_and_stores_nothing(api):
    body = {"files": [{"name": "a.jpg", "type": "image/jpeg", "size": HUGE}]}
    status, reply = _json(api("POST", "/uploads", body))
    assert status == 400 and '"size"' in reply["message"], reply
    table = api.stack.dynamodb.Table(api.stack.spec.predictions.name)
    assert table.scan()["Items"] == []


# --- 2. since/until -------------------------------------------------------------------------------


def test_time_bounds_are_normalised_by_the_one_function_the_cli_uses():
    from spotter.results.query import PredictionQuery, QueryError
    from spotter.web.views import query_from_params

    for value in ("2026-11-29T09:48:56Z", "2026-11-29T10:48:56+01:00", "2026-11-29", "2026-11-29 09:48"):
        api_query = query_from_params({"since": value, "until": value}, "m@1")
        assert api_query.since == api_query.until == normalise_time(value) is not None
        assert PredictionQuery(since=value).since == normalise_time(value)
    for bad in ("2026-11-29Z", "2026-11-29+01:00", "2026-11-29x10:00", "tomorrow"):
        with pytest.raises(ValueError):
            parse_time(bad)
        assert normalise_time(bad) is None
        with pytest.raises(QueryError, match="until must be an ISO 8601"):
            query_from_params({"until": bad}, "m@1")


def test_api_time_bounds_compare_instants_not_text(api):
    _seed(api, [_record(1, model="m@1", uploaded_at="2026-11-29T09:48:56.277Z")])

    def names(route, query):
        status, _, text = api("GET", f"{route}?model=all&{query}")
        assert status == 200, text
        if route == "/predictions.csv":
            return [row["file_name"] for row in csv.DictReader(io.StringIO(text))]
        if route == "/stats":
            return ["1.jpg"] * json.loads(text)["records"]
        return [item["file_name"] for item in json.loads(text)["items"]]

    for route in ("/predictions", "/predictions.csv", "/stats"):
        assert names(route, "since=2026-11-29T09:48:56Z") == ["1.jpg"]  # 56.277 is after 56
        assert names(route, "since=2026-11-29T10:48:56%2B01:00") == ["1.jpg"]  # the same instant
        assert names(route, "since=2026-11-29T10:48:57%2B01:00") == []
        assert names(route, "until=2026-11-29T10:48:57%2B01:00") == ["1.jpg"]
        assert names(route, "until=2026-11-29T09:48:56Z") == []
        assert names(route, "source=owl&since=2026-11-29T09:48:56Z&until=2026-11-30") == ["1.jpg"]
        for bad in ("until=2026-11-29Z", "since=2026-11-29%2B01:00", "since=soon"):
            status, reply = _json(api("GET", f"{route}?{bad}"))
            assert status == 400 and "must be an ISO 8601 date or time" in reply["message"], (route, bad, reply)


# --- 3. names -------------------------------------------------------------------------------------


def test_predictions_resolve_names_as_stats_does(api):
    _seed(api, [_record(1, label="benign"), _record(2, label="malignant", source="falcon-2")])

    status, listing = _json(api("GET", "/predictions?model=all&label=BENIGN&source=OWL"))
    assert status == 200 and [i["file_name"] for i in listing["items"]] == ["1.jpg"]
    assert listing["notes"] == ["label 'BENIGN' matched as 'benign'", "source 'OWL' matched as 'owl'"]
    status, stats = _json(api("GET", "/stats?model=all&label=BENIGN&source=OWL"))
    assert status == 200 and stats["records"] == 1 and stats["notes"] == listing["notes"]

    status, headers, text = api("GET", "/predictions.csv?model=all&label=BENIGN")
    assert status == 200 and [r["file_name"] for r in csv.DictReader(io.StringIO(text))] == ["1.jpg"]
    assert json.loads(headers["X-Notes"]) == ["label 'BENIGN' matched as 'benign'"]
    assert "X-Notes" in headers.get("Access-Control-Expose-Headers", "")

    status, listing = _json(api("GET", "/predictions?model=M@1"))
    assert status == 200 and len(listing["items"]) == 2 and listing["notes"] == ["model 'M@1' matched as 'm@1'"]

    for route in ("/predictions", "/predictions.csv", "/stats"):
        status, reply = _json(api("GET", f"{route}?model=all&source=hawk"))
        assert status == 400 and reply["message"] == "no source 'hawk' in the table; known sources: falcon-2, owl"
        status, reply = _json(api("GET", f"{route}?label=cat&model=all"))
        assert status == 400 and "known labels: benign, malignant" in reply["message"]
        status, reply = _json(api("GET", f"{route}?model=other@9"))
        assert status == 400 and "known models: m@1" in reply["message"]


def test_the_served_model_is_not_looked_up_an_empty_table_lists_nothing(api):
    status, listing = _json(api("GET", "/predictions"))
    assert status == 200 and listing == {"items": [], "next": None, "notes": []}
    status, stats = _json(api("GET", "/stats"))
    assert status == 200 and stats["records"] == 0


# --- 4. cursors -----------------------------------------------------------------------------------


def test_a_cursor_belongs_to_the_whole_set_of_filters_it_was_made_for(api):
    model = api.module.services().model.model_id
    _seed(
        api,
        [_record(i, model=model, source="falcon-2", label="benign") for i in range(3)]
        + [_record(10 + i, model=model, source="hawk", label="benign") for i in range(3)],
    )
    status, page = _json(api("GET", "/predictions?source=falcon-2&limit=1"))
    assert status == 200 and len(page["items"]) == 1 and page["next"]
    cursor = page["next"]

    for other in (
        "source=hawk",
        "source=falcon-2&label=benign",
        "source=falcon-2&since=2026-11-01",
        "source=falcon-2&model=all",
        "source=falcon-2&min_score=0.1",
        "source=falcon-2&status=ok",
    ):
        status, reply = _json(api("GET", f"/predictions?{other}&limit=1&cursor={cursor}"))
        assert status == 400 and "belongs to other filters" in reply["message"], (other, reply)
        status, _, text = api("GET", f"/predictions.csv?{other}&limit=1&cursor={cursor}")
        assert status == 400 and "belongs to other filters" in text, other

    # the same filters, however spelled, and any page size: the rest of the listing
    seen = [page["items"][0]["file_name"]]
    for spelled in ("source=FALCON-2&limit=1", "source=falcon-2&limit=5"):
        status, rest = _json(api("GET", f"/predictions?{spelled}&cursor={cursor}"))
        assert status == 200, rest
        assert {i["file_name"] for i in rest["items"]} | set(seen) >= {"1.jpg"} and rest["items"]
    status, rest = _json(api("GET", f"/predictions?source=falcon-2&limit=5&cursor={cursor}"))
    assert sorted(seen + [i["file_name"] for i in rest["items"]]) == ["0.jpg", "1.jpg", "2.jpg"]


def test_cursors_stay_opaque():
    from spotter.adapters.dynamodb import _encode_cursor

    cursor = _encode_cursor(0, {"object_id": "x", "model": "m@1"}, "abc123")
    assert "/" not in cursor and "+" not in cursor and "=" not in cursor and "source" not in cursor


def _tampered(cursor, **changes):
    body, _, tag = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for name, value in changes.items():
        payload["k"][name] = value
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{forged}.{tag}"


def test_a_tampered_or_foreign_cursor_is_a_400_and_never_reaches_dynamodb(api, monkeypatch):
    """A forged start key on real DynamoDB is a ValidationException, a 500 feeding the 5xx alarm:
    cursors are signed, and one that does not verify is refused before any read."""
    from spotter.adapters.dynamodb import DynamoPredictionQueries, _encode_cursor
    from spotter.results.cursors import CursorSigner

    model = api.module.services().model.model_id
    _seed(api, [_record(i, model=model, source="falcon-2", label="benign") for i in range(3)])
    status, page = _json(api("GET", "/predictions?source=falcon-2&limit=1"))
    assert status == 200 and page["next"]
    cursor = page["next"]
    fingerprint = json.loads(base64.urlsafe_b64decode(cursor.partition(".")[0] + "==="))["f"]

    def no_reads(*args, **kwargs):
        raise AssertionError("a bad cursor reached DynamoDB")

    monkeypatch.setattr(DynamoPredictionQueries, "_read", no_reads)
    monkeypatch.setattr(DynamoPredictionQueries, "_full_items", no_reads)
    for bad in (
        _tampered(cursor, source="hawk"),  # another drone's records
        _tampered(cursor, object_id=""),  # an empty key attribute: DynamoDB's ValidationException
        _tampered(cursor, uploaded_at={"N": "1"}),
        cursor.partition(".")[0],  # the tag dropped
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),  # the tag altered
        _encode_cursor(
            0,
            {"object_id": "x", "model": model, "source": "falcon-2", "uploaded_at": "z"},
            fingerprint,
            CursorSigner("another deployment's key"),
        ),
        "x" * 5000,
    ):
        for path in ("/predictions", "/predictions.csv"):
            status, _, text = api("GET", f"{path}?source=falcon-2&limit=1&cursor={bad}")
            assert status == 400 and "cursor is not one this API returned" in text, (bad, status, text)


@pytest.mark.parametrize("source", ["CURSOR_KEY", "CURSOR_KEY_SECRET"])
def test_cursors_hold_across_instances_that_share_the_configured_key(stack, monkeypatch, source):
    """Lambda serves one listing's pages from many instances: each signs with the configured key, on
    AWS read from the Secrets Manager secret the template generates (CURSOR_KEY_SECRET)."""
    import boto3

    from spotter.adapters.dynamodb import DynamoPredictions
    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module
    from spotter.results.cursors import CursorSigner

    store = DynamoPredictions(stack.dynamodb.Table(stack.spec.predictions.name))
    monkeypatch.setenv("ALLOWED_ORIGINS", ORIGIN)
    if source == "CURSOR_KEY":
        monkeypatch.setenv("CURSOR_KEY", "a shared secret")
    else:
        secret = boto3.client("secretsmanager").create_secret(Name="cursor-key", SecretString="a shared secret")
        monkeypatch.setenv("CURSOR_KEY_SECRET", secret["ARN"])
    first, second = load_handler_module("api"), load_handler_module("api")
    model = first.services().model.model_id
    for i in range(3):
        assert store.put(_record(i, model=model, source="falcon-2"))

    def get(module, path):
        event = http_api_event("GET", path, {"origin": ORIGIN}, b"")
        response = module.lambda_handler(event, LambdaContext("api"))
        return response["statusCode"], json.loads(response["body"])

    status, page = get(first, "/predictions?source=falcon-2&limit=1")
    assert status == 200 and page["next"]
    assert CursorSigner("a shared secret").open(page["next"])["p"] == 0  # signed with the configured key
    status, rest = get(second, f"/predictions?source=falcon-2&limit=5&cursor={page['next']}")
    assert status == 200 and len(rest["items"]) == 2
    monkeypatch.setenv("CURSOR_KEY", "another key")  # takes precedence over the secret
    status, reply = get(load_handler_module("api"), f"/predictions?source=falcon-2&limit=5&cursor={page['next']}")
    assert status == 400 and "cursor is not one this API returned" in reply["message"]
