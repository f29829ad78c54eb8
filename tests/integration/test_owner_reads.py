"""Per-owner reads (issue 23, round three): GET /batches reads only the caller's records through the
by-owner index and pages the rest; deleting a batch reads its records page by page with no cap; refused
files are capped per caller per hour (429); an unknown name is refused without listing names the caller
may not see, and without a table scan of its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from spotter.adapters.dynamodb_records import to_item
from spotter.local.http_api import http_api_event
from spotter.local.lambda_runtime import LambdaContext, load_handler_module
from spotter.records import PredictionRecord, is_tombstone_item
from spotter.web.access import Caller
from spotter.web.uploads import RefusedFile, refusal_record

ALICE = {"sub": "1111-alice"}
BOB = {"sub": "2222-bob"}
ANALYST = {"sub": "3333-ana", "cognito:groups": "[analysts]"}
MODEL = ("colours-int8", "1.0.0")


@pytest.fixture
def signed_in(stack, monkeypatch):
    monkeypatch.setenv("AUTH_ENABLED", "true")
    monkeypatch.setenv("MAX_REFUSED_PER_HOUR", "5")
    module = load_handler_module("api")

    def call(method, path, claims, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        event = http_api_event(method, path, {"content-type": "application/json"}, data, jwt_claims=claims)
        response = module.lambda_handler(event, LambdaContext("api"))
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    call.module = module  # type: ignore[attr-defined]
    call.stack = stack  # type: ignore[attr-defined]
    call.table = stack.dynamodb.Table(stack.spec.predictions.name)  # type: ignore[attr-defined]
    return call


def _refusals(claims: dict, batch: str, count: int, step_ms: int = 1, offset_ms: int = 0) -> list[PredictionRecord]:
    """`count` refused records of `claims`'s batch `batch`, `step_ms` apart (from a minute ago), newest last."""
    tagged = Caller.from_claims(claims).batch_for_upload(batch)
    start = datetime.now(UTC) - timedelta(minutes=1) + timedelta(milliseconds=offset_ms)
    records = []
    for n in range(count):
        key = f"uploads/{tagged}/{n:06d}-f{n}.heic"
        at = (start + timedelta(milliseconds=n * step_ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        refused = RefusedFile(f"f{n}.heic", "HEIC is not read", key, f"{tagged}-{n:06d}", 10)
        records.append(refusal_record(refused, tagged, "bucket", *MODEL, now=at))
    return records


def _write(table, records: list[PredictionRecord]) -> None:
    with table.batch_writer() as writer:  # straight into moto: 20,000 records in seconds, not via HTTP
        for record in records:
            writer.put_item(Item=to_item(record))


def test_one_owners_flood_of_refusals_leaves_anothers_batches_and_the_flood_pages_and_deletes(signed_in, monkeypatch):
    api, table = signed_in, signed_in.table
    # The old cliff was 20,000 records (STATS_MAX_RECORDS); moto reads 20,000 in minutes, so the cliff is
    # lowered to 100 here and Bob's flood is 130: nothing of the listing or deletion may depend on it now.
    monkeypatch.setattr(api.module, "STATS_MAX_RECORDS", 100)
    flood = _refusals(BOB, "flood", 130)
    _write(table, flood + _refusals(ALICE, "mine", 3))

    status, body = api("GET", "/batches", ALICE)  # before: Bob's flood made this a 400 for everyone
    assert status == 200, body
    assert [(b["batch"], b["files"]) for b in body["batches"]] == [(Caller.from_claims(ALICE).batch_prefix + "mine", 3)]
    assert body["next"] is None

    services = api.module.services()
    services.batches_page_records = 50
    status, first = api("GET", "/batches", BOB)  # Bob's own listing pages instead of failing
    assert status == 200 and first["next"] and first["batches"][0]["files"] == 50
    status, second = api("GET", f"/batches?cursor={first['next']}", BOB)
    assert status == 200 and second["batches"][0]["files"] == 50
    assert api("GET", f"/batches?cursor={first['next']}", ALICE)[0] == 400  # a cursor is its owner's

    batch = flood[0].batch
    services.batch_read_page = 40  # the batch is read in 4 pages
    status, preview = api("GET", f"/batches/{batch}", BOB)
    assert status == 200 and preview["files"] == preview["records"] == 130
    status, removal = api("DELETE", f"/batches/{batch}", BOB)  # before: a 400 past the cliff
    assert status == 200 and removal["deleted_records"] == 130
    left = [item["key"] for item in table.scan()["Items"] if "key" in item]
    assert len(left) == 3 and all(key.startswith(f"uploads/{body['batches'][0]['batch']}/") for key in left)
    assert api("GET", "/batches", BOB)[1]["batches"] == []
    assert to_item(flood[0])["owner"] == Caller.from_claims(BOB).owner  # the index's key, on web records


def test_batches_pages_add_up_to_the_whole_listing(signed_in):
    api = signed_in
    records = []
    for n, name in enumerate(("one", "two", "three")):  # interleaved in time: pages cut batches
        records += _refusals(ALICE, name, 4, step_ms=3, offset_ms=n)
    _write(api.table, records)
    whole = api("GET", "/batches", ALICE)[1]
    assert whole["next"] is None and sum(b["files"] for b in whole["batches"]) == 12

    api.module.services().batches_page_records = 5
    totals: dict[str, int] = {}
    cursor, pages = "", 0
    while True:
        status, page = api("GET", f"/batches?cursor={cursor}" if cursor else "/batches", ALICE)
        assert status == 200
        pages += 1
        for b in page["batches"]:
            totals[b["batch"]] = totals.get(b["batch"], 0) + b["files"]
        if not page["next"]:
            break
        cursor = page["next"]
    assert pages == 3 and totals == {b["batch"]: b["files"] for b in whole["batches"]}


def test_refused_files_are_capped_per_owner_per_hour_with_a_429(signed_in):
    api = signed_in
    heic = [{"name": f"{n}.heic", "type": "", "size": 10} for n in range(3)]
    assert api("POST", "/uploads", ALICE, {"files": heic})[0] == 200
    status, body = api(
        "POST", "/uploads", ALICE, {"files": [*heic, {"name": "ok.jpg", "type": "image/jpeg", "size": 10}]}
    )
    assert status == 429 and "at most 5 refused files an hour per user" in body["message"]
    assert "MAX_REFUSED_PER_HOUR" in body["message"]
    records = [item for item in api.table.scan()["Items"] if not is_tombstone_item(item)]  # no counts
    assert len(records) == 3  # nothing of the refused request was recorded
    assert api("POST", "/uploads", BOB, {"files": heic})[0] == 200  # counted per owner
    ok = [{"name": "ok.jpg", "type": "image/jpeg", "size": 10}]
    assert api("POST", "/uploads", ALICE, {"files": ok})[0] == 200  # files it would sign still go


def _count_scans(table) -> list[str]:
    scans: list[str] = []
    table.meta.client.meta.events.register("before-call.dynamodb.Scan", lambda **_: scans.append("scan"))
    return scans


def test_unknown_names_list_nothing_a_researcher_may_not_see_and_cost_no_scan(signed_in):
    api = signed_in
    drone = PredictionRecord(
        object_id="d1", model="colours-int8@1.0.0", bucket="b", key="drones/secret-hawk/1.jpg", status="ok",
        source="secret-hawk", file_name="1.jpg", uploaded_at="2026-12-01T00:00:00.000Z",
        classified_at="2026-12-01T00:00:00.000Z", model_name="colours-int8", model_version="1.0.0", label="red",
    )  # fmt: skip
    mine = _refusals(ALICE, "mine", 1)
    _write(api.table, [drone, *mine])
    batch = mine[0].batch
    scans = _count_scans(api.module.services().queries.table)

    status, body = api("GET", f"/predictions?batch={batch}&source=secret-hawk", ALICE)
    assert status == 400 and "secret-hawk" not in body["message"].replace("'secret-hawk'", "")
    status, body = api("GET", f"/predictions?batch={batch}&source=hawk", ALICE)
    assert status == 400 and "secret-hawk" not in body["message"] and "known" not in body["message"]
    status, body = api("GET", f"/stats?batch={batch}&label=purple", ALICE)
    assert status == 400 and body["message"] == "no label 'purple'; the model's labels: red, green, blue"
    status, body = api("GET", f"/predictions?batch={batch}&source=WEB&label=RED", ALICE)
    assert status == 200 and body["notes"] == ["label 'RED' matched as 'red'", "source 'WEB' matched as 'web'"]
    assert scans == []  # a researcher's names are never looked up in the table

    # an analyst may see every record: the 400 lists the names, from one scan however many are asked
    for name in ("hawk", "owl", "eagle"):
        status, body = api("GET", f"/predictions?source={name}&model=all", ANALYST)
        assert status == 400 and "known sources: secret-hawk, web" in body["message"]
    assert len(scans) == 1
    status, body = api("GET", "/predictions?source=SECRET-HAWK&model=all", ANALYST)  # a case variant: no scan
    assert status == 200 and body["notes"] == ["source 'SECRET-HAWK' matched as 'secret-hawk'"]
    assert len(scans) == 1


def test_only_a_tagged_web_batchs_records_carry_an_owner():
    from spotter.keys import owner_of

    tag = Caller.from_claims(ALICE).owner
    assert owner_of(f"uploads/{tag}-b/x-1.jpg", f"{tag}-b") == tag
    assert owner_of(f"drones/owl/{tag}-b/1.jpg", f"{tag}-b") is None  # a drone folder named like a tag
    assert owner_of("uploads/b/x-1.jpg", "b") is None  # a batch made with sign-in off
    assert owner_of(f"uploads/{tag}-b/x-1.jpg", None) is None
