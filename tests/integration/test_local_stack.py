"""`spotter up` as a user runs it: a subprocess on 127.0.0.1, then Ctrl-C."""

import json
import signal
import subprocess
import sys

import boto3
import images
import pytest
import requests
from conftest import MODELS, ROOT, clean_env
from waiting import wait_until

from spotter.local.template import load_template


def test_endpoints_are_on_loopback_and_the_page_has_its_config(spotter_up):
    e = spotter_up["endpoints"]
    for name in ("web", "api", "s3"):
        assert e[name].startswith("http://127.0.0.1:"), e
    config = requests.get(e["web"] + "config.json", timeout=5).json()
    assert config == {"apiUrl": e["api"]}


def test_upload_through_the_api_is_classified(spotter_up):
    e = spotter_up["endpoints"]
    origin = e["web"].rstrip("/")
    response = requests.post(
        f"{e['api']}/uploads",
        json={"files": [{"name": "red.png", "type": "image/png", "size": 99}]},
        headers={"Origin": origin},
        timeout=10,
    )
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == origin
    body = response.json()
    upload = body["uploads"][0]
    posted = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("red.png", images.png(images.RED), "image/png")},
        timeout=10,
    )
    assert posted.status_code == 204
    item = wait_until(
        lambda: requests.get(f"{e['api']}/predictions/{upload['objectId']}", timeout=5),
        30,
        until=lambda item: item.status_code == 200,
        fail=False,
    )
    assert item.status_code == 200 and item.json()["label"] == "red" and item.json()["batch"] == body["batch"]


def test_emulated_resources_match_the_template(spotter_up, monkeypatch):
    e = spotter_up["endpoints"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", e["s3"])
    resources = load_template()["Resources"]
    sqs, dynamodb, s3 = boto3.client("sqs"), boto3.client("dynamodb"), boto3.client("s3")

    queue = sqs.get_queue_attributes(QueueUrl=e["queue"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(queue["RedrivePolicy"])
    expected_redrive = resources["ClassifyQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == int(expected_redrive["maxReceiveCount"])
    assert redrive["deadLetterTargetArn"].endswith(e["dead_letter_queue"].rsplit("/", 1)[1])

    props = resources["PredictionsTable"]["Properties"]
    assert dynamodb.list_tables()["TableNames"] == [e["table"]]  # the one table (no idempotency table)
    table = dynamodb.describe_table(TableName=e["table"])["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]
    }
    # the same indexes with the same projections (INCLUDE and its attributes), not moto's default
    assert sorted(
        (i["IndexName"], json.dumps(i["KeySchema"]), json.dumps(i["Projection"], sort_keys=True))
        for i in table["GlobalSecondaryIndexes"]
    ) == sorted(
        (i["IndexName"], json.dumps(i["KeySchema"]), json.dumps(i["Projection"], sort_keys=True))
        for i in props["GlobalSecondaryIndexes"]
    )

    notification = s3.get_bucket_notification_configuration(Bucket=e["bucket"])["QueueConfigurations"]
    template_rules = resources["UploadsBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    got = sorted(r["Value"] for c in notification for r in c["Filter"]["Key"]["FilterRules"])
    want = sorted(r["Value"] for c in template_rules for r in c["Filter"]["S3Key"]["Rules"])
    assert got == want


def test_the_page_opened_as_localhost_may_call_the_api(spotter_up):
    e = spotter_up["endpoints"]
    origin = e["web"].rstrip("/").replace("127.0.0.1", "localhost")
    response = requests.get(f"{e['api']}/model", headers={"Origin": origin}, timeout=5)
    assert response.status_code == 200 and response.headers.get("Access-Control-Allow-Origin") == origin


def _up(*args):
    return subprocess.run(
        [sys.executable, "-m", "spotter.cli", "up", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )


def test_a_second_stack_or_a_busy_port_is_refused_with_a_reason(spotter_up, tmp_path):
    e, state = spotter_up["endpoints"], spotter_up["state"]
    before = (state / "local.json").read_text()
    again = _up("--state-dir", str(state))
    assert again.returncode == 1 and "already running" in again.stderr and e["web"] in again.stderr
    assert (state / "local.json").read_text() == before  # the running stack's file is left alone
    for option, url in (("--web-port", e["web"]), ("--api-port", e["api"]), ("--s3-port", e["s3"])):
        port = url.rstrip("/").rsplit(":", 1)[1]
        busy = _up("--state-dir", str(tmp_path), option, port)
        assert busy.returncode == 1 and f"port {port} on 127.0.0.1 ({option}) is not free" in busy.stderr, busy.stderr
        assert not (tmp_path / "local.json").exists()
    wildcard = _up("--state-dir", str(tmp_path), "--host", "0.0.0.0")
    assert wildcard.returncode == 2 and "not a wildcard" in wildcard.stderr
    assert requests.get(e["api"] + "/model", timeout=5).status_code == 200  # the first stack never noticed


def test_ctrl_c_stops_everything_cleanly(spotter_up):
    process = spotter_up["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    assert not (spotter_up["state"] / "local.json").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(spotter_up["endpoints"]["api"] + "/model", timeout=2)


def test_ctrl_c_in_a_terminal_stops_the_stack_without_a_traceback(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group, the decode worker included: `make run`
    printed the worker's KeyboardInterrupt traceback on every stop."""
    import os

    log = open(tmp_path / "up.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "spotter.cli", "up", "--state-dir", str(tmp_path / "s"), "--model", str(MODELS / "colours-int8.tflite")],
        cwd=ROOT, env=clean_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal leaves it
    )  # fmt: skip
    try:
        wait_until(lambda: (tmp_path / "s" / "local.json").exists() or process.poll() is not None, 60, 0.2)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    log.seek(0)
    output = log.read()
    assert "stopping" in output and "Traceback" not in output, output


def test_the_supervisor_restarts_a_dead_poller_and_gives_up_on_moto_that_keeps_dying(tmp_path, caplog, monkeypatch):
    import threading

    from spotter.local.stack import LocalOptions, LocalStack

    class FakeMoto:
        endpoint, pid = "http://127.0.0.1:1", 1

        def __init__(self):
            self.up, self.starts = True, 0

        def alive(self):
            return self.up

        def returncode(self):
            return None if self.up else -9

        def start(self):
            self.starts += 1
            self.up = True

        def log_tail(self, chars=2000):
            return "killed"

    stack = LocalStack(LocalOptions(state_dir=tmp_path))
    moto = FakeMoto()
    # fakes in place of the stack's moto process, its provisioning and its spec (not the types they stand for)
    monkeypatch.setattr(stack, "_moto", moto)
    stack.endpoints = {"queue": "q"}
    monkeypatch.setattr(stack, "_provision", lambda: (None, {"objects": {}, "items": {}, "messages": {}}))
    monkeypatch.setattr(
        stack, "_spec", type("Spec", (), {"bucket": "b", "predictions": type("T", (), {"name": "t"}), "queue": "q"})
    )
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    started = []

    def never_called(event, context):  # the handler: the poller's start is faked below
        return None

    stack._pollers = [{"name": "classify-0", "handler": never_called, "thread": dead, "trigger": None, "restarts": 0}]

    def start_poller(poller, queue_url):
        started.append(queue_url)
        poller.update(thread=threading.current_thread())

    monkeypatch.setattr(stack, "_start_poller", start_poller)
    stack._check_once()
    assert started == ["q"] and stack._pollers[0]["restarts"] == 1
    assert "classify poller classify-0 stopped: restarting it" in caplog.text
    for death in range(1, 5):
        moto.up = False
        stack._check_once()
        assert stack.failed.is_set() == (death == 4)
    assert moto.starts == 3 and stack.failure is not None and "exited 4 times in 60 s" in stack.failure
    assert stack.health()[0] is False


def test_an_unusable_state_folder_is_one_line_not_a_traceback(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    command = [
        sys.executable,
        "-m",
        "spotter.cli",
        "up",
        "--state-dir",
        str(blocker / "state"),
        "--web-port",
        "0",
        "--api-port",
        "0",
        "--s3-port",
        "0",
        "--model",
        str(MODELS / "colours-int8.tflite"),
    ]
    result = subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("spotter up: cannot use the state folder") and len(result.stderr.splitlines()) == 1
