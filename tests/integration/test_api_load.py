"""The local API under load, against a real `spotter up`: a CSV export with a tiny `limit` is not a
read per record, a slow request does not hold up the other routes, and a client that hangs up
leaves no traceback in the log."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import boto3
import pytest
import requests
from waiting import wait_until

from spotter.adapters.dynamodb_records import to_item
from spotter.records import PredictionRecord, object_id_for

RECORDS = 300
BATCH = "load"
PAGED = 40  # pages of /predictions?limit=1 followed (each reads 200 items: adapters/dynamodb.py page_size)


@pytest.fixture(scope="module")
def seeded(spotter_up):
    """`spotter_up` with RECORDS records of the model it serves in batch BATCH, written straight to its table."""
    e = spotter_up["endpoints"]
    table = boto3.resource("dynamodb", endpoint_url=e["s3"], region_name=e["region"]).Table(e["table"])
    name, version = e["model"].split("@", 1)
    with table.batch_writer() as writer:
        for i in range(RECORDS):
            key = f"uploads/{BATCH}/{i:036d}-img{i}.jpg"
            record = PredictionRecord(
                object_id=object_id_for(e["bucket"], key),
                model=e["model"],
                bucket=e["bucket"],
                key=key,
                status="ok",
                source="web",
                batch=BATCH,
                file_name=f"img{i}.jpg",
                uploaded_at=f"2026-11-01T10:{i // 60:02d}:{i % 60:02d}.000Z",
                classified_at="2026-11-22T00:00:00.000Z",
                model_name=name,
                model_version=version,
                label="red",
                score=0.75,
                top=[{"label": "red", "score": 0.75}],
            )
            writer.put_item(Item=to_item(record))
    return spotter_up


def _csv(api: str, **params) -> tuple[list[str], str | None, float]:
    started = time.monotonic()
    reply = requests.get(f"{api}/predictions.csv", params={"batch": BATCH, **params}, timeout=120)
    took = time.monotonic() - started
    assert reply.status_code == 200, reply.text
    names = [row["file_name"] for row in csv.DictReader(io.StringIO(reply.text, newline=""))]
    return names, reply.headers.get("X-Next-Cursor"), took


def _every_page(get_page) -> tuple[list[str], int, float]:
    """Follows the cursors from the first page: (the names of every page, pages, seconds)."""
    names: list[str] = []
    cursor, pages, started = None, 0, time.monotonic()
    while True:
        page, cursor = get_page(cursor)
        names += page
        pages += 1
        if not cursor:
            return names, pages, time.monotonic() - started


def test_a_csv_export_with_limit_1_reads_pages_of_hundreds(seeded):
    api = seeded["endpoints"]["api"]
    expected = sorted(f"img{i}.jpg" for i in range(RECORDS))

    def csv_page(limit):
        return lambda cursor: _csv(api, limit=limit, **({"cursor": cursor} if cursor else {}))[:2]

    big, _, with_500 = _every_page(csv_page(500))
    small, small_pages, with_1 = _every_page(csv_page(1))
    assert sorted(big) == expected and sorted(small) == expected  # every record, each once
    # one read per record (each from a cursor moto finds by walking the table) took 183 s at 311
    # records against well under a second for limit=500: now the same reads, so about the same time
    assert with_1 < 10 * with_500 + 1, (with_1, with_500, small_pages)


def test_paging_predictions_one_at_a_time_costs_a_small_read_a_page(seeded):
    api = seeded["endpoints"]["api"]

    def json_page(limit):
        def get(cursor):
            params = {"batch": BATCH, "limit": limit, **({"cursor": cursor} if cursor else {})}
            reply = requests.get(f"{api}/predictions", params=params, timeout=60)
            assert reply.status_code == 200, reply.text
            return [item["file_name"] for item in reply.json()["items"]], reply.json()["next"]

        return get

    whole, _, one_request = _every_page(json_page(500))
    get, cursor, ones, started = json_page(1), None, [], time.monotonic()
    for _ in range(PAGED):  # the first PAGED pages of 1: each a read from a cursor
        page, cursor = get(cursor)
        ones += page
    paged = time.monotonic() - started
    assert ones == whole[:PAGED] and cursor  # in order, each once, and more to come
    # a page of 1 costs about a request, not a rescan of everything before it: on average no more
    # than a few times the one request that read all RECORDS at once
    assert paged / PAGED < 3 * one_request + 0.05, (paged, one_request)


def _moto_pid(stack_pid: int) -> int:
    """The moto server `spotter up` runs as its child process (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if parent == stack_pid and b"moto" in command:
            return int(entry.name)
    pytest.skip("no moto child process found to pause")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the moto process in /proc")
def test_a_request_stuck_on_dynamodb_does_not_block_the_other_routes(seeded):
    api = seeded["endpoints"]["api"]
    assert requests.get(f"{api}/model", timeout=10).status_code == 200
    moto = _moto_pid(seeded["process"].pid)
    stuck: dict[str, object] = {}

    def slow():
        try:
            stuck["status"] = requests.get(f"{api}/predictions", params={"batch": BATCH}, timeout=60).status_code
        except requests.RequestException as error:
            stuck["status"] = error

    os.kill(moto, signal.SIGSTOP)  # every DynamoDB call now waits until SIGCONT
    try:
        thread = threading.Thread(target=slow, daemon=True)
        thread.start()
        time.sleep(0.5)  # the slow request is in its handler, waiting on moto
        assert thread.is_alive()
        model = requests.get(f"{api}/model", timeout=10)  # blocked until SIGCONT when requests were serialised
        assert model.status_code == 200 and model.json()["name"]
        assert thread.is_alive()  # /model was answered while the other request was still in flight
    finally:
        os.kill(moto, signal.SIGCONT)
    thread.join(60)
    assert stuck["status"] == 200


def test_a_client_that_hangs_up_leaves_no_traceback(seeded):
    api = seeded["endpoints"]["api"]
    host, port = api.removeprefix("http://").split(":")
    log = seeded["state"] / "spotter-up.log"
    before = log.read_text()
    for _ in range(3):
        client = socket.create_connection((host, int(port)), timeout=10)
        client.sendall(f"GET /predictions.csv?batch={BATCH} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        client.close()
    # the stack goes on answering, and what it logged about the dropped clients holds no traceback
    wait_until(lambda: requests.get(f"{api}/model", timeout=10).status_code == 200, 10, 0.2)
    time.sleep(1)  # the replies to the dropped clients are written (and fail) by now
    added = log.read_text()[len(before) :]
    assert "Traceback" not in added and "BrokenPipeError" not in added.replace("(BrokenPipeError)", ""), added
    assert added.count("\n") <= 3, added  # a line a dropped client at most


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the moto process in /proc")
def test_a_request_answered_while_another_is_in_flight_never_changes_the_others_cors(seeded):
    """The trial saw a page's GET answered without CORS headers while a DELETE (no Origin) ran:
    Powertools keeps the event being handled on a class, and the local instances shared it."""
    api, web = seeded["endpoints"]["api"], seeded["endpoints"]["web"].rstrip("/")
    moto = _moto_pid(seeded["process"].pid)
    answered: dict[str, object] = {}

    def from_the_page():
        try:
            reply = requests.get(
                f"{api}/predictions", params={"batch": BATCH, "limit": "5"}, headers={"Origin": web}, timeout=60
            )
            answered["status"], answered["cors"] = reply.status_code, reply.headers.get("Access-Control-Allow-Origin")
        except requests.RequestException as error:
            answered["status"] = error

    os.kill(moto, signal.SIGSTOP)
    try:
        thread = threading.Thread(target=from_the_page, daemon=True)
        thread.start()
        time.sleep(0.5)  # the page's request is in its handler, waiting on moto
        assert requests.get(f"{api}/model", timeout=10).status_code == 200  # a script's, no Origin
    finally:
        os.kill(moto, signal.SIGCONT)
    thread.join(60)
    assert answered == {"status": 200, "cors": web}
