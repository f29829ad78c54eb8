"""The HTTP API handler on moto, called with API Gateway v2 events."""

import base64
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

import images
import pytest
import requests

from spotter.local.http_api import http_api_event
from spotter.local.lambda_runtime import LambdaContext, load_handler_module

ORIGIN = "http://127.0.0.1:8123"


@dataclass
class ApiClient:
    """The API function called as API Gateway would call it; `stack` is the moto stack behind it."""

    call: Callable[..., Any]
    stack: Any
    module: Any = None  # the API function's module (functions/api/app.py, loaded for this test)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)


@pytest.fixture
def api(stack, monkeypatch):
    monkeypatch.setenv("ALLOWED_ORIGINS", ORIGIN)
    module = load_handler_module("api")

    def call(method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        hdrs = {"content-type": "application/json", "origin": ORIGIN, **(headers or {})}
        response = module.lambda_handler(http_api_event(method, path, hdrs, data), LambdaContext("api"))
        text = (
            base64.b64decode(response["body"]).decode() if response.get("isBase64Encoded") else response.get("body", "")
        )
        return response["statusCode"], response.get("headers", {}), text

    return ApiClient(call, stack, module)


def _json(result):
    status, _, text = result
    return status, json.loads(text)


def _upload(form: dict, data: bytes, name: str, content_type: str = "image/jpeg"):
    return requests.post(form["url"], data=form["fields"], files={"file": (name, data, content_type)}, timeout=10)


def test_presigned_post_policy_pins_key_type_size_and_expiry(api):
    status, body = _json(
        api("POST", "/uploads", {"files": [{"name": "../../etc/My Photo (1).JPG", "type": "image/jpeg", "size": 1234}]})
    )
    assert status == 200
    upload = body["uploads"][0]
    assert upload["key"].startswith(f"uploads/{body['batch']}/") and upload["key"].endswith("-My_Photo_1_.JPG")
    assert "/../" not in upload["key"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": api.stack.spec.bucket} in conditions
    assert ["eq", "$key", upload["key"]] in conditions or {"key": upload["key"]} in conditions
    assert ["eq", "$Content-Type", "image/jpeg"] in conditions
    assert ["content-length-range", 1, body["maxBytes"]] in conditions
    from datetime import datetime

    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    remaining = (expires - datetime.now(UTC)).total_seconds()
    assert 0 < remaining <= body["expiresIn"] + 5
    assert upload["fields"]["Content-Type"] == "image/jpeg"


def test_production_presigning_is_sigv4_at_the_regional_address(monkeypatch):
    import boto3

    from spotter.adapters.aws import config_for
    from spotter.adapters.s3 import S3Presigner

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the tests point boto3 at moto
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    s3 = boto3.session.Session().client("s3", region_name="eu-west-1", config=config_for("s3"))
    form = S3Presigner(s3, "spotter-uploads").upload_form("uploads/b/x.jpg", "image/jpeg", 100, 300)
    assert form["url"] == "https://spotter-uploads.s3.eu-west-1.amazonaws.com/"
    assert form["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and "AWSAccessKeyId" not in form["fields"]
    view = S3Presigner(s3, "spotter-uploads").view_url("uploads/b/x.jpg", 900, "image/jpeg")
    assert view.startswith("https://spotter-uploads.s3.eu-west-1.amazonaws.com/uploads/b/x.jpg?")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in view and "response-content-type=image%2Fjpeg" in view


def test_refuses_non_images_and_oversize_files_up_front(api):
    files = [
        {"name": "notes.txt", "type": "text/plain", "size": 10},
        {"name": "vector.svg", "type": "image/svg+xml", "size": 10},
        {"name": "huge.jpg", "type": "image/jpeg", "size": 10**10},
        {"name": "empty.jpg", "type": "image/jpeg", "size": 0},
        {"name": "fine.png", "type": "image/png", "size": 100},
    ]
    status, body = _json(api("POST", "/uploads", {"files": files}))
    assert status == 200
    errors = {u["name"]: u.get("error") for u in body["uploads"]}
    assert "not a raster image" in errors["notes.txt"] and "not a raster image" in errors["vector.svg"]
    assert "limit" in errors["huge.jpg"] and "empty" in errors["empty.jpg"]
    assert errors["fine.png"] is None
    assert [u["name"] for u in body["uploads"] if "fields" in u] == ["fine.png"]


@pytest.mark.parametrize(
    "payload, word",
    [
        ({}, "files"),
        ({"files": []}, "files"),
        ({"files": [{"name": "a.jpg", "type": "image/jpeg"}]}, "size"),
        ({"files": [{"name": "a.jpg", "type": "image/jpeg", "size": 1}], "batch": "../x"}, "batch"),
        ({"files": [{"name": "a.jpg", "type": "image/jpeg", "size": True}]}, "size"),
        ({"files": [{"name": "a.jpg", "type": "image/jpeg", "size": -1}]}, "size"),
        ({"files": [{"name": f"{i}.jpg", "type": "image/jpeg", "size": 1} for i in range(501)]}, "500"),
    ],
)
def test_bad_upload_requests_get_a_clear_400(api, payload, word):
    status, body = _json(api("POST", "/uploads", payload))
    assert status == 400 and word in body["message"]


def test_upload_classify_then_list_get_and_csv(api):
    stack = api.stack
    files = [
        {"name": "red.jpg", "type": "image/jpeg", "size": 1},
        {"name": "blue.jpg", "type": "image/jpeg", "size": 1},
        {"name": "broken.jpg", "type": "image/jpeg", "size": 1},
    ]
    _, body = _json(api("POST", "/uploads", {"files": files, "batch": "field-day"}))
    assert body["batch"] == "field-day"
    payloads = {
        "red.jpg": images.jpeg(images.RED),
        "blue.jpg": images.jpeg(images.BLUE),
        "broken.jpg": b"\xff\xd8\xff broken",
    }
    for upload in body["uploads"]:
        assert _upload(upload, payloads[upload["name"]], upload["name"]).status_code == 204
    stack.drain()

    status, listing = _json(api("GET", "/predictions?batch=field-day"))
    assert status == 200 and listing["next"] is None
    by_name = {item["file_name"]: item for item in listing["items"]}
    assert by_name["red.jpg"]["label"] == "red" and by_name["blue.jpg"]["label"] == "blue"
    assert by_name["broken.jpg"]["status"] == "rejected" and by_name["broken.jpg"]["reason"]
    image = requests.get(by_name["red.jpg"]["image_url"], timeout=10)
    assert image.status_code == 200 and image.content == payloads["red.jpg"]

    red_id = next(u["objectId"] for u in body["uploads"] if u["name"] == "red.jpg")
    status, single = _json(api("GET", f"/predictions/{red_id}"))
    assert status == 200 and single["label"] == "red"
    assert api("GET", "/predictions/0123456789abcdef0123456789abcdef")[0] == 404

    status, ok_only = _json(api("GET", "/predictions?batch=field-day&status=ok&min_score=0.5"))
    assert sorted(i["file_name"] for i in ok_only["items"]) == ["blue.jpg", "red.jpg"]
    _, labelled = _json(api("GET", "/predictions?label=blue"))
    assert [i["file_name"] for i in labelled["items"]] == ["blue.jpg"]

    status, headers, text = api("GET", "/predictions.csv?batch=field-day")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted((r["file_name"], r["status"]) for r in rows) == [
        ("blue.jpg", "ok"),
        ("broken.jpg", "rejected"),
        ("red.jpg", "ok"),
    ]


def test_pagination_walks_every_record_once(api):
    stack = api.stack
    for i in range(7):
        stack.put(f"uploads/paged/{i:08d}-0000-0000-0000-000000000000-img{i}.jpg", images.jpeg(images.GREEN))
    stack.drain()
    seen, cursor = [], None
    while True:
        path = "/predictions?batch=paged&limit=3" + (f"&cursor={cursor}" if cursor else "")
        status, page = _json(api("GET", path))
        assert status == 200 and len(page["items"]) <= 3
        seen += [i["object_id"] for i in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    assert api("GET", "/predictions?cursor=garbage")[0] == 400
    assert api("GET", "/predictions?min_score=2")[0] == 400


def test_csv_past_its_size_budget_names_the_cursor_for_the_rest(api, monkeypatch):
    stack = api.stack
    for i in range(7):
        stack.put(f"uploads/many/{i:08d}-0000-0000-0000-000000000000-img{i}.jpg", images.jpeg(images.GREEN))
    stack.drain()
    module = load_handler_module("api")

    def get(path):
        response = module.lambda_handler(http_api_event("GET", path, {"origin": ORIGIN}, b""), LambdaContext("api"))
        return response["statusCode"], response.get("headers", {}), response["body"]

    whole = get("/predictions.csv?batch=many&limit=3")[2]
    # a page of 3 rows is ~43 % of all 7: one page fits, two do not, so one page per reply
    module.init(services=replace(module.services(), csv_budget_bytes=len(whole.encode()) // 2))

    names, cursor, replies = [], None, 0
    while True:
        status, headers, body = get("/predictions.csv?batch=many&limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        names += [row["file_name"] for row in csv.DictReader(io.StringIO(body))]
        replies += 1
        cursor = headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert replies == 3 and sorted(names) == sorted(f"img{i}.jpg" for i in range(7))
    assert "X-Next-Cursor" in get("/predictions.csv?batch=many&limit=3")[1].get("Access-Control-Expose-Headers", "")


@pytest.mark.parametrize(
    "query, word",
    [
        ("since=yesterday", "since must be an ISO 8601"),
        ("until=2026-13-01", "until must be"),
        ("captured_since=soon", "captured_since must be"),
        ("limit=nan", "limit must be a number"),
        ("limit=inf", "limit must be a number"),
        ("limit=2.5", "whole number"),
        ("limit=0", "whole number"),
        ("min_score=nan", "min_score must be a number"),
        ("batch=paged&cursor=" + base64.urlsafe_b64encode(b'{"p":0,"k":{"x":"1"}}').decode().rstrip("="), "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b'{"p":0,"k":{"object_id":5}}').decode().rstrip("="), "cursor"),
    ],
)
def test_bad_query_parameters_get_a_clear_400(api, query, word):
    status, body = _json(api("GET", f"/predictions?{query}"))
    assert status == 400 and word in body["message"], body


def test_a_model_without_a_card_has_the_same_id_in_the_api_as_in_its_records():
    from conftest import MODELS

    from spotter.model.classifier import Classifier
    from spotter.web.views import ModelInfo

    path = MODELS / "colours-metadata-float32.tflite"
    info, classifier = ModelInfo.load(path), Classifier.load(path)
    assert info.model_id == classifier.card.model_id and info.model_id.startswith("colours-metadata-float32@sha256-")
    assert info.card["labels"] == list(classifier.labels)


def test_listings_show_the_current_model_unless_asked_for_all(api):
    from spotter.adapters.dynamodb import DynamoPredictions
    from spotter.records import PredictionRecord

    stack = api.stack
    stack.put("uploads/versions/00000000-0000-0000-0000-000000000000-a.jpg", images.jpeg(images.RED))
    stack.drain()
    current = stack.record_for("uploads/versions/00000000-0000-0000-0000-000000000000-a.jpg")
    older = PredictionRecord.from_dict(
        {
            **{
                k: v
                for k, v in current.items()
                if k in ("object_id", "bucket", "key", "source", "batch", "file_name", "uploaded_at")
            },
            "model": "colours-int8@0.9.0",
            "model_name": "colours-int8",
            "model_version": "0.9.0",
            "status": "ok",
            "label": "blue",
            "score": 0.5,
            "classified_at": current["uploaded_at"],
        }
    )
    DynamoPredictions(stack.dynamodb.Table(stack.spec.predictions.name)).put(older)
    _, shown = _json(api("GET", "/predictions?batch=versions"))
    assert [(i["model"], i["label"]) for i in shown["items"]] == [(current["model"], "red")]
    _, every = _json(api("GET", "/predictions?batch=versions&model=all"))
    assert sorted(i["model"] for i in every["items"]) == sorted([current["model"], "colours-int8@0.9.0"])
    _, pinned = _json(api("GET", "/predictions?batch=versions&model=colours-int8@0.9.0"))
    assert [i["label"] for i in pinned["items"]] == ["blue"]


def test_model_card_and_cors(api):
    status, card = _json(api("GET", "/model"))
    assert status == 200 and card["labels"] == ["red", "green", "blue"] and card["name"] == "colours-int8"
    status, headers, _ = api("OPTIONS", "/uploads", headers={"access-control-request-method": "POST"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == ORIGIN
    _, headers, _ = api("GET", "/model", headers={"origin": "http://evil.example"})
    assert headers.get("Access-Control-Allow-Origin") != "http://evil.example"


@pytest.fixture
def signed_in_api(stack, monkeypatch):
    monkeypatch.setenv("ALLOWED_ORIGINS", ORIGIN)
    monkeypatch.setenv("AUTH_ENABLED", "true")
    module = load_handler_module("api")

    def call(method, path, claims, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        event = http_api_event(method, path, {"content-type": "application/json"}, data, jwt_claims=claims)
        response = module.lambda_handler(event, LambdaContext("api"))
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    return ApiClient(call, stack)


ALICE = {"sub": "1111-alice", "email": "alice@example.org"}
BOB = {"sub": "2222-bob", "cognito:groups": "[researchers]"}
ANALYST = {"sub": "3333-ana", "cognito:groups": "[analysts researchers]"}


def test_with_sign_in_on_nobody_sees_another_researchers_batch(signed_in_api):
    api, stack = signed_in_api, signed_in_api.stack
    assert api("GET", "/model", None)[0] == 401
    status, body = api(
        "POST", "/uploads", ALICE, {"files": [{"name": "a.jpg", "type": "image/jpeg", "size": 10}], "batch": "survey"}
    )
    assert status == 200
    batch, upload = body["batch"], body["uploads"][0]
    assert batch.endswith("-survey") and batch != "survey"
    assert _upload(upload, images.jpeg(images.RED), "a.jpg").status_code == 204
    stack.drain()

    assert api("GET", f"/predictions?batch={batch}", ALICE)[1]["items"][0]["label"] == "red"
    assert api("GET", f"/predictions/{upload['objectId']}", ALICE)[0] == 200

    status, body = api("GET", f"/predictions?batch={batch}", BOB)
    assert status == 403 and "someone else" in body["message"]
    assert api("GET", "/predictions", BOB)[0] == 403  # no batch: would list everyone's
    assert api("GET", "/predictions?label=red", BOB)[0] == 403
    assert api("GET", f"/predictions/{upload['objectId']}", BOB)[0] == 404
    assert api("GET", f"/predictions.csv?batch={batch}", BOB)[0] == 403
    # Bob cannot claim Alice's batch by naming it in an upload either
    status, body = api(
        "POST", "/uploads", BOB, {"files": [{"name": "b.jpg", "type": "image/jpeg", "size": 10}], "batch": batch}
    )
    assert status == 200 and body["batch"] != batch and not body["batch"].startswith(batch.split("-")[0] + "-")

    assert api("GET", "/predictions?label=red", ANALYST)[1]["items"][0]["batch"] == batch
    assert api("GET", f"/predictions/{upload['objectId']}", ANALYST)[0] == 200


def test_original_names_ride_as_signed_metadata_and_come_back_in_records_and_csv(api):
    stack = api.stack
    name = "Läsion Rücken — Patientin 7 (ü) ✓ 📷.jpg"
    _, body = _json(api("POST", "/uploads", {"files": [{"name": name, "type": "image/jpeg", "size": 1}]}))
    upload = body["uploads"][0]
    assert upload["key"].endswith("-Lasion_Rucken_Patientin_7_u_.jpg")  # the key stays sanitised
    field = upload["fields"]["x-amz-meta-original-name"]
    assert base64.b64decode(field).decode("utf-8") == name
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["eq", "$x-amz-meta-original-name", field] in policy["conditions"]  # pinned, as the key and type are
    assert _upload(upload, images.jpeg(images.RED), "whatever.jpg").status_code == 204
    stack.drain()
    _, listing = _json(api("GET", f"/predictions?batch={body['batch']}"))
    assert [item["file_name"] for item in listing["items"]] == [name]
    _, _, text = api("GET", f"/predictions.csv?batch={body['batch']}")
    assert [row["file_name"] for row in csv.DictReader(io.StringIO(text))] == [name]


def test_a_255_character_emoji_name_fits_s3_metadata_and_survives():
    from spotter.keys import decode_original_name, encode_original_name

    name = "🦠" * 251 + ".jpg"
    encoded = encode_original_name(name)
    assert len("original-name") + len(encoded) < 2048  # S3's user-metadata limit
    assert decode_original_name(encoded) == name
    assert decode_original_name("not base64!") is None and decode_original_name(None) is None


def test_refused_files_are_recorded_in_the_batch_with_their_reason(api):
    files = [
        {"name": "IMG_0042.HEIC", "type": "", "size": 2_000_000},
        {"name": "ok.jpg", "type": "image/jpeg", "size": 1},
    ]
    _, body = _json(api("POST", "/uploads", {"files": files, "batch": "with-refusal"}))
    refused = body["uploads"][0]
    assert "HEIC" in refused["error"] and "export it as JPEG" in refused["error"] and refused["objectId"]
    status, listing = _json(api("GET", "/predictions?batch=with-refusal&status=refused"))
    assert status == 200 and len(listing["items"]) == 1
    item = listing["items"][0]
    assert (item["object_id"], item["file_name"], item["status"]) == (refused["objectId"], "IMG_0042.HEIC", "refused")
    assert item["reason"] == refused["error"] and item["image_url"] is None
    assert item["size"] == 2_000_000  # the declared size stays: a reload and the CSV still show it
    _, _, text = api("GET", "/predictions.csv?batch=with-refusal")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["file_name"], r["status"], r["reason"], r["size"]) for r in rows] == [
        ("IMG_0042.HEIC", "refused", refused["error"], "2000000")
    ]


def test_batches_list_newest_first_with_counts_and_delete_removes_images_and_records(api):
    stack = api.stack
    for batch, files in (("older-batch", ["red.jpg", "notes.txt"]), ("newer-batch", ["blue.jpg", "broken.jpg"])):
        requested = [
            {"name": n, "type": "text/plain" if n.endswith(".txt") else "image/jpeg", "size": 1} for n in files
        ]
        _, body = _json(api("POST", "/uploads", {"files": requested, "batch": batch}))
        payloads = {
            "red.jpg": images.jpeg(images.RED),
            "blue.jpg": images.jpeg(images.BLUE),
            "broken.jpg": b"\xff\xd8\xff no",
        }
        for upload in body["uploads"]:
            if "fields" in upload:
                assert _upload(upload, payloads[upload["name"]], upload["name"]).status_code == 204
        stack.drain()
    status, listing = _json(api("GET", "/batches"))
    assert status == 200
    assert [b["batch"] for b in listing["batches"]] == ["newer-batch", "older-batch"]
    older = listing["batches"][1]
    assert older["files"] == 2 and older["images"] == 1
    assert older["by_status"] == {"ok": 1, "refused": 1} and older["by_outcome"] == {"red": 1, "refused": 1}
    assert listing["batches"][0]["by_status"] == {"ok": 1, "rejected": 1}

    status, preview = _json(api("GET", "/batches/newer-batch"))
    assert status == 200 and sorted(preview["names"]) == ["blue.jpg", "broken.jpg"] and preview["records"] == 2

    status, removal = _json(api("DELETE", "/batches/newer-batch"))
    assert status == 200 and removal == {"batch": "newer-batch", "deleted_object_versions": 2, "deleted_records": 2}
    assert _json(api("GET", "/predictions?batch=newer-batch&model=all"))[1]["items"] == []
    import boto3

    s3 = boto3.client("s3")
    left = s3.list_object_versions(Bucket=stack.spec.bucket, Prefix="uploads/newer-batch/")
    assert not left.get("Versions") and not left.get("DeleteMarkers")  # no version kept back for 30 days
    assert [b["batch"] for b in _json(api("GET", "/batches"))[1]["batches"]] == ["older-batch"]
    assert api("GET", "/batches/newer-batch")[0] == 404
    assert api("DELETE", "/batches/..%2Fdrones")[0] == 400


def test_a_batch_deleted_while_its_images_are_in_flight_stays_deleted(api, monkeypatch):
    """The delete wins over every write still in flight: an image read before the delete and written
    after it, an image whose object the delete removed, and an image uploaded late with a form signed
    before the delete. None leaves a record or an object, the batch never lists again, and no new
    upload form is signed into it."""
    stack, batch = api.stack, "racing-batch"
    names = ["read-before.jpg", "removed.jpg", "late.jpg"]
    requested = [{"name": n, "type": "image/jpeg", "size": 1} for n in names]
    forms = {u["name"]: u for u in _json(api("POST", "/uploads", {"files": requested, "batch": batch}))[1]["uploads"]}
    for name in names[:2]:  # queued, not yet classified (the messages are held until drain)
        assert _upload(forms[name], images.jpeg(images.RED), name).status_code == 204

    writer = stack.handler_module.services().predictions
    real_put = writer.put
    deleted: list[tuple[int, dict]] = []

    def delete_lands_before_the_write(record):
        if not deleted:  # the first image was read and classified; the delete lands before its write
            deleted.append(_json(api("DELETE", f"/batches/{batch}")))
        return real_put(record)

    monkeypatch.setattr(writer, "put", delete_lands_before_the_write)
    stack.drain()
    assert deleted and deleted[0][0] == 200
    # the third file arrives after the delete, with the form signed before it
    assert _upload(forms["late.jpg"], images.jpeg(images.BLUE), "late.jpg").status_code == 204
    stack.drain()

    assert [r["key"] for r in stack.records() if r.get("batch") == batch] == []
    left = stack.s3.list_object_versions(Bucket=stack.spec.bucket, Prefix=f"uploads/{batch}/")
    assert not left.get("Versions") and not left.get("DeleteMarkers")  # the late image was discarded too
    assert batch not in [b["batch"] for b in _json(api("GET", "/batches"))[1]["batches"]]
    assert api("GET", f"/batches/{batch}")[0] == 404
    status, refusal = _json(api("POST", "/uploads", {"files": requested[:1], "batch": batch}))
    assert status == 410 and "deleted" in refusal["message"]
    assert stack.nothing_left()


def test_a_batch_delete_sweeps_records_its_index_did_not_show(api, monkeypatch):
    """On AWS the by-batch index lags the table: the delete also sweeps each stored object's records by
    key with a consistent read, so a record written just before the delete is not left behind."""
    stack, batch = api.stack, "lagging-index"
    files = [{"name": "a.jpg", "type": "image/jpeg", "size": 1}]
    (form,) = _json(api("POST", "/uploads", {"files": files, "batch": batch}))[1]["uploads"]
    assert _upload(form, images.jpeg(images.RED), "a.jpg").status_code == 204
    stack.drain()
    assert [r["key"] for r in stack.records() if r.get("batch") == batch]
    monkeypatch.setattr(api.module, "_batch_records", lambda batch, model: [])  # the index shows nothing yet
    status, removal = _json(api("DELETE", f"/batches/{batch}"))
    assert status == 200 and removal["deleted_records"] == 1, removal
    assert [r["key"] for r in stack.records() if r.get("batch") == batch] == []


def test_concurrent_writes_into_one_batch_all_land(api):
    """Every web record's write checks its batch's tombstone: many at once into one batch must all land
    (a transaction per write made them conflict on the one tombstone item: 500s and partial batches)."""
    from concurrent.futures import ThreadPoolExecutor

    files = [{"name": f"n{i}.txt", "type": "text/plain", "size": 5} for i in range(60)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: api("POST", "/uploads", {"files": files, "batch": "busy"})[0], range(4)))
    assert statuses == [200] * 4
    assert len([r for r in api.stack.records() if r.get("batch") == "busy"]) == 240  # one record per file sent


def test_a_refusal_racing_its_batchs_delete_is_a_410_not_a_500(api, monkeypatch):
    """The delete lands between POST /uploads' tombstone check and its refused files' records: the
    record write finds the tombstone and the request is a 410 (the trial saw 500s), leaving nothing."""
    api("POST", "/uploads", {"files": [{"name": "a.jpg", "type": "image/jpeg", "size": 1}], "batch": "racing"})
    assert api("DELETE", "/batches/racing")[0] == 200
    monkeypatch.setattr(api.module.services().tombstones, "is_deleted", lambda batch: False)  # checked before
    status, body = _json(
        api("POST", "/uploads", {"files": [{"name": "n.txt", "type": "text/plain", "size": 5}], "batch": "racing"})
    )
    assert status == 410 and "deleted" in body["message"], body
    assert [r for r in api.stack.records() if r.get("batch") == "racing"] == []
    # the batch's tombstone is an item of the table, never a model anyone can name or is shown
    status, unknown = _json(api("GET", "/predictions?model=nope"))
    assert status == 400 and "#batch-deleted" not in unknown["message"] and "#" not in unknown["message"], unknown


def test_a_file_name_with_a_lone_surrogate_is_a_400_and_leaves_nothing(api):
    """JSON lets "\\udfff" through; DynamoDB cannot store it: a refused file so named was a 500 after
    the records of the files before it were written (the third trial)."""
    files = [
        {"name": "before.txt", "type": "text/plain", "size": 5},
        {"name": "\udfff.txt", "type": "text/plain", "size": 5},
    ]
    status, body = _json(api("POST", "/uploads", {"files": files, "batch": "surrogates"}))
    assert status == 400 and "files[1]" in body["message"], body
    assert [r for r in api.stack.records() if r.get("batch") == "surrogates"] == []


@pytest.mark.parametrize("name", ["a\u0000.jpg", "a\n.jpg", "tab\t.jpg", "esc\u001b[31m.jpg", "del\u007f.jpg"])
def test_a_file_name_with_a_control_character_is_a_400_and_leaves_nothing(api, name):
    """A NUL was kept in the record's file_name and so in every export (the fifth trial)."""
    files = [{"name": "before.jpg", "type": "image/jpeg", "size": 5}, {"name": name, "type": "image/jpeg", "size": 5}]
    status, body = _json(api("POST", "/uploads", {"files": files, "batch": "controls"}))
    assert status == 400 and "files[1] name holds control character" in body["message"], body
    assert [r for r in api.stack.records() if r.get("batch") == "controls"] == []


def test_concurrent_refusals_never_pass_the_hourly_cap(api):
    """Each request counted the past hour's refused records, then wrote its own: ten at once with a cap
    of 100 wrote 140 (the third trial). The hour's count is now taken atomically before any write."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    services = api.module.services()
    services.settings = replace(services.settings, max_refused_per_hour=100)
    files = [{"name": f"n{i}.txt", "type": "text/plain", "size": 5} for i in range(20)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(
            pool.map(lambda i: api("POST", "/uploads", {"files": files, "batch": f"cap-{i}"})[0], range(10))
        )
    refused = [r for r in api.stack.records() if r.get("status") == "refused"]
    assert sorted(statuses) == [200] * 5 + [429] * 5 and len(refused) == 100, (statuses, len(refused))


def test_errors_map_to_statuses_in_one_table(api):
    """Each error a route raises answers with its status from the one table, as JSON with its message."""
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError

    from spotter.errors import BatchGone
    from spotter.results.query import QueryError
    from spotter.results.scoring import TruthError
    from spotter.web.access import AccessDenied
    from spotter.web.uploads import TooManyRefusals, UploadRequestError

    module = load_handler_module("api")
    expected = {
        QueryError: 400,
        UploadRequestError: 400,
        UnauthorizedError: 401,
        AccessDenied: 403,
        NotFoundError: 404,
        BatchGone: 410,
        TruthError: 400,
        TooManyRefusals: 429,
    }
    assert expected == module.ERROR_STATUS
    for kind, status in expected.items():
        response = module.error_response(kind("no such thing"))
        assert response.status_code == status
        assert json.loads(response.body) == {"statusCode": status, "message": "no such thing"}
    # and through the resolver: a query error, an unknown prediction, an upload request without files
    assert api("GET", "/predictions?min_score=2")[0] == 400
    status, _, body = api("GET", "/predictions/nope")
    assert status == 404 and json.loads(body)["message"] == "no prediction yet for nope"
    assert api("POST", "/uploads", {"files": []})[0] == 400
