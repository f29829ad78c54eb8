"""The local stack keeps its data across Ctrl-C and kill -9, survives its parts dying, and swaps models.

Each test runs `spotter up` as a user does (a subprocess, its own state folder and ports).
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import cast

import boto3
import images
import pytest
import requests
from conftest import MODELS, ROOT, clean_env, start_local_stack
from waiting import wait_until

pytestmark = pytest.mark.slow
COLOURS = {"red": images.RED, "green": images.GREEN, "blue": images.BLUE}


def _clients(endpoints):
    kwargs = {
        "endpoint_url": endpoints["s3"],
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
        "aws_session_token": None,
    }
    return boto3.client("s3", **kwargs), boto3.client("dynamodb", **kwargs), boto3.client("sqs", **kwargs)


def _upload_through_page(endpoints, names):
    """The web page's path: POST /uploads, then each presigned POST. Returns {object_id: colour}."""
    e = endpoints
    files: list[dict[str, str | int]] = [{"name": f"{name}.png", "type": "image/png", "size": 500} for name in names]
    body = requests.post(f"{e['api']}/uploads", json={"files": files}, timeout=10).json()
    planned = {}
    for name, upload in zip(names, body["uploads"]):
        colour = name.split("-")[0]
        posted = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": (f"{name}.png", images.png(COLOURS[colour]), "image/png")},
            timeout=10,
        )
        assert posted.status_code == 204, posted.text
        planned[upload["objectId"]] = colour
    return planned


def _upload_as_drone(endpoints, names, source="owl"):
    """A drone's path: plain S3 puts under drones/ (what `aws s3 sync` sends). Returns the keys."""
    s3, _, _ = _clients(endpoints)
    keys = {}
    for name in names:
        key = f"drones/{source}/{name}.png"
        s3.put_object(
            Bucket=endpoints["bucket"], Key=key, Body=images.png(COLOURS[name.split("-")[0]]), ContentType="image/png"
        )
        keys[key] = name.split("-")[0]
    return keys


def _records(endpoints):
    _, dynamodb, _ = _clients(endpoints)
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=endpoints["table"]):
        items += page["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def _objects(endpoints):
    s3, _, _ = _clients(endpoints)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=endpoints["bucket"])
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])}


def _wait_for_records(endpoints, count, model=None, timeout_s=60.0):
    return wait_until(
        lambda: [r for r in _records(endpoints) if model is None or r["model"] == model],
        timeout_s,
        until=lambda records: len(records) >= count,
        fail=False,
    )


def _queue_counts(endpoints):
    _, _, sqs = _clients(endpoints)
    counts = {}
    for name in ("queue", "dead_letter_queue"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=endpoints[name],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        counts[name] = sum(int(v) for v in attributes.values())
    return counts


def _log(state):
    return (state / "spotter-up.log").read_text()


def _health(endpoints):
    return requests.get(f"{endpoints['api']}/health", timeout=5).json()


def _assert_all_there_and_classified(endpoints, expected_keys, model):
    objects = _objects(endpoints)
    assert set(expected_keys) <= set(objects), set(expected_keys) - set(objects)
    records = _wait_for_records(endpoints, len(objects), model=model)
    by_key: dict[str, list[dict]] = {}
    for record in records:
        by_key.setdefault(record["key"], []).append(record)
    assert set(by_key) == set(objects), set(objects) ^ set(by_key)
    assert all(len(found) == 1 for found in by_key.values())  # one record per object and model: nothing twice
    for key, colour in expected_keys.items():
        assert by_key[key][0]["label"] == colour, by_key[key][0]
    # the last deletes, and the s3:TestEvent each start sends
    counts = wait_until(
        lambda: _queue_counts(endpoints), 15, until=lambda c: c == {"queue": 0, "dead_letter_queue": 0}, fail=False
    )
    assert counts == {"queue": 0, "dead_letter_queue": 0}


def test_data_survives_ctrl_c_and_kill_9_of_the_whole_stack(tmp_path):
    model = MODELS / "colours-int8.tflite"
    process, e = start_local_stack(tmp_path, model)
    try:
        assert "found 0 images, 0 records, 0 pending" in _log(tmp_path)
        web = _upload_through_page(e, ["red-1", "green-1", "blue-1"])
        drones = _upload_as_drone(e, ["red-2", "blue-2"])
        records = _wait_for_records(e, 5)
        assert len(records) == 5
        expected = {r["key"]: web[r["object_id"]] for r in records if r["object_id"] in web} | drones
        assert len(expected) == 5
        first_model = records[0]["model"]
        etags = {k: o["ETag"] for k, o in _objects(e).items()}

        # Ctrl-C, then up again: everything there, nothing redone
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        process, e = start_local_stack(tmp_path, model)
        assert "found 5 images, 5 records, 0 pending" in _log(tmp_path), _log(tmp_path)
        assert {k: o["ETag"] for k, o in _objects(e).items()} == etags
        s3, _, _ = _clients(e)
        head = s3.head_object(Bucket=e["bucket"], Key=next(iter(drones)))
        assert head["ContentType"] == "image/png"
        item = requests.get(f"{e['api']}/predictions/{next(iter(web))}", timeout=5)
        assert item.status_code == 200 and item.json()["label"] == web[next(iter(web))]
        image = requests.get(item.json()["image_url"], timeout=5)  # the presigned GET of the kept bytes
        assert image.status_code == 200 and image.content == images.png(COLOURS[web[next(iter(web))]])
        _assert_all_there_and_classified(e, expected, first_model)

        # more uploads, then kill -9 of every process of the stack at once, work still queued
        more = _upload_as_drone(e, [f"{c}-{i}" for i in range(3, 15) for c in ("red", "green")], source="kestrel")
        expected |= more
        moto_pid = _health(e)["parts"]["moto"]["pid"]
        os.kill(process.pid, signal.SIGKILL)
        os.kill(moto_pid, signal.SIGKILL)
        process.wait(timeout=10)
        stale = json.loads((tmp_path / "local.json").read_text())  # left behind by the dead stack
        assert stale["pid"] == process.pid
        (tmp_path / "local.json").unlink()  # (start_local_stack waits for the file to appear)
        process, e = start_local_stack(tmp_path, model)  # not refused: the lock died with its owner
        found = _log(tmp_path).split("found ")[-1].splitlines()[0]
        assert found.startswith(f"{len(expected)} images"), found
        print("after kill -9:", found)
        _assert_all_there_and_classified(e, expected, first_model)
        assert _health(e)["status"] == "ok"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_moto_killed_alone_is_restarted_with_its_data_and_repeated_deaths_stop_the_stack(tmp_path):
    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    try:
        expected = _upload_as_drone(e, ["red-1", "green-1", "blue-1"])
        model = _wait_for_records(e, 3)[0]["model"]
        before = _health(e)["parts"]["moto"]
        os.kill(before["pid"], signal.SIGKILL)

        def restarted():
            try:
                health = _health(e)
            except requests.RequestException:
                return None
            return health if health["parts"]["moto"]["pid"] != before["pid"] and health["status"] == "ok" else None

        health = wait_until(restarted, 30, fail=lambda _: _log(tmp_path))
        assert health["parts"]["moto"]["endpoint"] == before["endpoint"] and health["parts"]["moto"]["restarts"] == 1
        assert any("moto restarted" in line for line in health["events"])
        log = _log(tmp_path)
        assert log.count("exited with code -9: restarting it") == 1, log
        assert "Traceback" not in log, log
        _assert_all_there_and_classified(e, expected, model)  # the data came back with it
        expected |= _upload_as_drone(e, ["blue-2", "red-3"])  # and it works on
        _assert_all_there_and_classified(e, expected, model)

        # moto that keeps dying is not restarted forever: one message, everything stops, exit 1
        kills = 1
        while process.poll() is None and kills < 6:
            pid = _health(e)["parts"]["moto"]["pid"]
            kills += 1
            os.kill(pid, signal.SIGKILL)

            def restarted_or_stopped(pid=pid):
                if process.poll() is not None:
                    return True
                try:
                    return _health(e)["parts"]["moto"]["pid"] not in (pid, None) and _health(e)["status"] == "ok"
                except requests.RequestException:
                    return False

            wait_until(restarted_or_stopped, 30, 0.2, fail=False)
        assert process.wait(timeout=30) == 1
        assert kills == 4  # restarted after the first three deaths in a minute, not after the fourth
        log = _log(tmp_path)
        assert "exited 4 times in 60 s" in log and "stopping everything" in log, log
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{e['api']}/model", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()


def _spotter(*args, state):
    return subprocess.run(
        [sys.executable, "-m", "spotter.cli", *args, "--state-dir", str(state)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )


def test_model_swap_then_reprocess_keeps_both_versions_and_says_when_nothing_changed(tmp_path):
    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    try:
        expected = _upload_as_drone(e, ["red-1", "green-1", "blue-1"])
        old = _wait_for_records(e, 3)
        assert {r["model"] for r in old} == {"colours-int8@1.0.0"}
        # same model: reprocess says plainly that nothing would change
        same = _spotter("reprocess", state=tmp_path)
        assert (
            same.returncode == 0
            and "nothing changed: all 3 matching images already have a record from colours-int8@1.0.0" in same.stderr
        ), same.stderr
        # --force classifies them again, for real (nothing skips a delivery it has seen before)
        classified = {r["key"]: r["classified_at"] for r in old}
        forced = _spotter("reprocess", "--force", state=tmp_path)
        assert forced.returncode == 0 and "queued 3 images" in forced.stderr, forced.stderr
        forced_again = _spotter("reprocess", "--force", state=tmp_path)
        assert "queued 3 images" in forced_again.stderr
        now = wait_until(
            lambda: {r["key"]: r["classified_at"] for r in _records(e)},
            30,
            until=lambda now: all(now[k] != classified[k] for k in classified),
            fail=False,
        )
        assert all(now[k] != classified[k] for k in classified), (classified, now)
        assert len(_records(e)) == 3

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        process, e = start_local_stack(tmp_path, MODELS / "colours-float32.tflite")
        assert e["model"] == "colours-float32@1.0.0"
        assert "found 3 images, 3 records, 0 pending" in _log(tmp_path)
        # new uploads get the new model; reprocess adds its records beside the old ones
        expected |= _upload_as_drone(e, ["green-2"])
        run = _spotter("reprocess", state=tmp_path)
        assert run.returncode == 0 and "queued 3 images for classification with colours-float32@1.0.0" in run.stderr, (
            run.stderr
        )
        assert "1 others already have a record" in run.stderr
        _assert_all_there_and_classified(e, expected, "colours-float32@1.0.0")
        records = _records(e)
        assert len(records) == 3 + 4
        for model, count in (("colours-int8@1.0.0", 3), ("colours-float32@1.0.0", 4)):
            shown = _spotter("query", "--model", model, "--format", "jsonl", state=tmp_path)
            assert shown.returncode == 0, shown.stderr
            lines = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]
            assert len(lines) == count and {line["model"] for line in lines} == {model}
            assert all(line["label"] == expected[line["key"]] for line in lines)
        again = _spotter("reprocess", state=tmp_path)
        assert "nothing changed: all 4 matching images" in again.stderr, again.stderr
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_reset_says_what_it_deletes_and_starts_empty(tmp_path):
    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    _upload_as_drone(e, ["red-1", "blue-1"])
    _wait_for_records(e, 2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite", "--reset")
    try:
        log = _log(tmp_path)
        assert "--reset: deleting 2 images, 2 records, 0 pending" in log and "data.sqlite3" in log, log
        assert "found 0 images, 0 records, 0 pending" in log
        assert _objects(e) == {} and _records(e) == []
        # a second stack on the same folder is refused by the lock, and leaves local.json alone
        before = (tmp_path / "local.json").read_text()
        again = subprocess.run(
            [sys.executable, "-m", "spotter.cli", "up", "--state-dir", str(tmp_path), "--reset"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert again.returncode == 1 and f"pid {process.pid}" in again.stderr and e["web"] in again.stderr
        assert "deleting" not in again.stdout
        assert (tmp_path / "local.json").read_text() == before
        assert _health(e)["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_multipart_uploads_versions_and_deletions_come_back_as_they_were(tmp_path):
    from boto3.s3.transfer import TransferConfig

    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    try:
        s3, _, _ = _clients(e)
        big = os.urandom(6 * 1024 * 1024)  # two parts, as `aws s3 sync` sends files over 8 MB
        (tmp_path / "big.bin").write_bytes(big)
        s3.upload_file(
            str(tmp_path / "big.bin"),
            e["bucket"],
            "drones/owl/big.bin",
            Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024),
        )
        first = s3.put_object(Bucket=e["bucket"], Key="drones/owl/red.png", Body=images.png(images.BLUE))
        s3.put_object(Bucket=e["bucket"], Key="drones/owl/red.png", Body=images.png(images.RED))
        s3.put_object(Bucket=e["bucket"], Key="drones/owl/gone.png", Body=images.png(images.RED))
        s3.delete_object(Bucket=e["bucket"], Key="drones/owl/gone.png")
        before = _objects(e)
        versions = s3.list_object_versions(Bucket=e["bucket"], Prefix="drones/owl/")
        _wait_for_records(e, 3)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
        s3, _, _ = _clients(e)
        after = _objects(e)
        assert {k: (o["ETag"], o["Size"], o["LastModified"]) for k, o in after.items()} == {
            k: (o["ETag"], o["Size"], o["LastModified"]) for k, o in before.items()
        }
        assert after["drones/owl/big.bin"]["ETag"].endswith('-2"')
        assert s3.get_object(Bucket=e["bucket"], Key="drones/owl/big.bin")["Body"].read() == big
        assert "drones/owl/gone.png" not in after  # the delete marker came back too
        again = s3.list_object_versions(Bucket=e["bucket"], Prefix="drones/owl/")
        assert [(v["Key"], v["VersionId"], v["ETag"]) for v in again["Versions"]] == [
            (v["Key"], v["VersionId"], v["ETag"]) for v in versions["Versions"]
        ]
        assert [(m["Key"], m["VersionId"]) for m in again.get("DeleteMarkers", [])] == [
            (m["Key"], m["VersionId"]) for m in versions.get("DeleteMarkers", [])
        ]
        old = s3.get_object(Bucket=e["bucket"], Key="drones/owl/red.png", VersionId=first["VersionId"])["Body"].read()
        assert old == images.png(images.BLUE)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_a_missing_blob_is_reported_and_the_rest_still_loads(tmp_path):
    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    _upload_as_drone(e, ["red-1", "blue-1"])
    _wait_for_records(e, 2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    blobs = sorted(p for p in (tmp_path / "blobs").rglob("*") if p.is_file())
    assert len(blobs) == 2
    blobs[0].unlink()  # an incomplete backup
    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    try:
        log = _log(tmp_path)
        assert "1 stored object version(s) have no bytes" in log, log
        assert len(_objects(e)) == 1 and len(_records(e)) == 2  # the other image, and every record
        assert _health(e)["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_a_state_folder_that_refuses_writes_fails_the_request_and_says_so_until_it_recovers(tmp_path):
    import io

    from spotter.local import persist

    class Disk:
        state_dir = tmp_path
        full = True

        def sync(self, touched):
            if self.full:
                raise OSError(28, "No space left on device")

        def rollback(self, touched):  # what the request changed in moto is put back (see the full-disk test)
            pass

    def moto(environ, start_response):  # stands in for moto: every request changes something
        persist._local.touched.reset = True
        start_response("200 OK", [])
        return [b""]

    disk = Disk()
    app = persist.PersistingApp(moto, cast(persist.Store, disk))  # a stand-in for the disk: only sync() is called

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        return lambda data: None  # a WSGI start_response: the headers go nowhere, and so would written data

    def request(path, method="PUT"):
        environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO()}
        return b"".join(app(environ, start_response))

    with pytest.raises(OSError):
        request("/bucket/key")  # not acknowledged: the client sees a 500
    status = json.loads(request("/_spotter/status", "GET"))
    assert "No space left" in status["write_failure"]["error"]
    disk.full = False
    request("/bucket/key")
    assert json.loads(request("/_spotter/status", "GET"))["write_failure"] is None


def test_a_state_folder_from_before_the_idempotency_table_went_starts_and_drops_its_items(tmp_path):
    """Issue 20 removed the idempotency table from the template. A state folder saved before holds
    its items (a finished claim and one a dead run left in progress): the stack starts, loads the
    records, and deletes those items rather than keeping them as orphans."""
    from spotter.adapters.dynamodb_records import attribute_value, to_item
    from spotter.local import persist
    from spotter.records import PredictionRecord, object_id_for

    key = "drones/owl/red-1.png"
    record = PredictionRecord(
        object_id=object_id_for("spotter-uploads", key),
        model="colours@1",
        bucket="spotter-uploads",
        key=key,
        status="ok",
        source="owl",
        file_name="red-1.png",
        uploaded_at="2026-11-20T10:00:00.000Z",
        classified_at="2026-11-20T10:00:01.000Z",
        model_name="colours",
        model_version="1",
        label="red",
        score=0.99,
    )
    item = {name: attribute_value(value) for name, value in to_item(record).items()}
    rows = [
        ("spotter-predictions", item["object_id"], item["model"], item),
        *(
            ("spotter-idempotency", {"S": f"classify#{n}"}, None, {"id": {"S": f"classify#{n}"}, "status": {"S": s}})
            for n, s in enumerate(("COMPLETED", "INPROGRESS"))
        ),
    ]
    db = persist.connect(tmp_path)
    for table, pk, sk, attrs in rows:
        db.execute(
            "INSERT INTO ddb_items (account, region, tbl, pk, sk, item) VALUES (?, ?, ?, ?, ?, ?)",
            ("123456789012", "us-east-1", table, json.dumps(pk, sort_keys=True), json.dumps(sk), json.dumps(attrs)),
        )
    db.close()

    process, e = start_local_stack(tmp_path, MODELS / "colours-int8.tflite")
    try:
        log = _log(tmp_path)
        assert "found 0 images, 1 records, 0 pending" in log, log
        assert "dropped 2 items of the idempotency table" in log and "kept but not loaded" not in log, log
        assert [r["key"] for r in _records(e)] == [key]
        _, dynamodb, _ = _clients(e)
        assert dynamodb.list_tables()["TableNames"] == [e["table"]] and "idempotency_table" not in e
        assert persist.summary(tmp_path)["items"] == {"spotter-predictions": 1}  # gone from the folder too
        assert _health(e)["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_a_full_disk_leaves_no_trace_of_the_requests_it_failed(tmp_path_factory, monkeypatch):
    """Writes fail (ENOSPC) while a flag file exists: the uploads, a record and a message sent then fail,
    and none of them is listed, queued, classified or dead-lettered, then or after a restart."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from spotter.config import FULL_DISK_ENV

    state, flag = tmp_path_factory.mktemp("state"), tmp_path_factory.mktemp("disk") / "full"
    monkeypatch.setenv(FULL_DISK_ENV, str(flag))
    model = MODELS / "colours-int8.tflite"
    process, e = start_local_stack(state, model)
    try:
        once = Config(retries={"max_attempts": 1, "mode": "standard"})
        s3 = boto3.client("s3", endpoint_url=e["s3"], region_name="us-east-1", config=once)
        flag.touch()
        files: list[dict[str, str | int]] = [
            {"name": f"red-{n}.png", "type": "image/png", "size": 500} for n in range(3)
        ]
        uploads = requests.post(f"{e['api']}/uploads", json={"files": files}, timeout=10).json()["uploads"]
        for upload in uploads:
            posted = requests.post(
                upload["url"],
                data=upload["fields"],
                files={"file": ("red.png", images.png(images.RED), "image/png")},
                timeout=10,
            )
            assert posted.status_code == 500, posted.text
        with pytest.raises(ClientError):
            s3.put_object(Bucket=e["bucket"], Key="drones/owl/blue.png", Body=images.png(images.BLUE))
        with pytest.raises(ClientError):
            boto3.client("sqs", endpoint_url=e["s3"], region_name="us-east-1", config=once).send_message(
                QueueUrl=e["queue"], MessageBody="{}"
            )
        with pytest.raises(ClientError):
            boto3.client("dynamodb", endpoint_url=e["s3"], region_name="us-east-1", config=once).put_item(
                TableName=e["table"], Item={"object_id": {"S": "forged"}, "model": {"S": "m"}}
            )
        assert _objects(e) == {}
        assert _queue_counts(e) == {"queue": 0, "dead_letter_queue": 0}
        assert _records(e) == []
        assert not [p for p in (state / "blobs").rglob("*") if p.is_file()]  # no half-written blob either

        flag.unlink()  # space again: the next upload goes through and is classified
        kept = _upload_as_drone(e, ["green-1"])
        assert len(_wait_for_records(e, 1)) == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        process, e = start_local_stack(state, model)
        assert set(_objects(e)) == set(kept)
        assert [r["key"] for r in _records(e)] == list(kept)
        counts = wait_until(lambda: _queue_counts(e), 15, until=lambda c: c == {"queue": 0, "dead_letter_queue": 0})
        assert counts == {"queue": 0, "dead_letter_queue": 0}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
