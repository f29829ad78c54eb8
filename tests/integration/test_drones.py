"""Drones: plain `aws s3 sync` and `spotter sync` into the running local stack."""

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import images
from conftest import ROOT, clean_env
from waiting import wait_until


def _folder(root: Path) -> dict[str, str | None]:
    """A drone's card: photos in nested folders, a sidecar text file; returns relative path -> expected label."""
    expected = {
        "DCIM/100/IMG_0001.JPG": "red",
        "DCIM/100/IMG 0002.JPG": "blue",
        "DCIM/101/IMG+0003.png": "green",
        "DCIM/101/été.jpg": "red",
        "flight.log": None,
    }
    colours = {"red": images.RED, "blue": images.BLUE, "green": images.GREEN}
    for relative, label in expected.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if label is None:
            path.write_text("takeoff 10:02\nlanding 10:31\n")
        elif relative.endswith(".png"):
            path.write_bytes(images.png(colours[label]))
        else:
            path.write_bytes(images.jpeg(colours[label]))
    return expected


def _records(endpoints, source):
    table = boto3.resource(
        "dynamodb",
        endpoint_url=endpoints["s3"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table(endpoints["table"])
    return [r for r in table.scan()["Items"] if r["source"] == source]


def _wait_for(endpoints, source, count, timeout=45):
    return wait_until(
        lambda: _records(endpoints, source),
        timeout,
        0.5,
        until=lambda records: len(records) >= count,
        fail=lambda records: f"only {len(records)} of {count} records for {source}",
    )


def _aws_s3_sync(endpoints, folder, source):
    """The AWS CLI, as a drone runs it, against the local stack (any credentials do)."""
    env = clean_env(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1")
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run(
        [
            str(aws),
            "s3",
            "sync",
            str(folder),
            f"s3://{endpoints['bucket']}/drones/{source}/",
            "--endpoint-url",
            endpoints["s3"],
            "--only-show-errors",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _s3(endpoints):
    return boto3.client(
        "s3",
        endpoint_url=endpoints["s3"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_plain_aws_s3_sync_just_works(spotter_up, tmp_path):
    e = spotter_up["endpoints"]
    expected = _folder(tmp_path)
    result = _aws_s3_sync(e, tmp_path, "kestrel")
    assert result.returncode == 0, result.stderr
    records = _wait_for(e, "kestrel", len(expected))
    by_key = {r["key"].removeprefix("drones/kestrel/"): r for r in records}
    assert set(by_key) == set(expected)
    for relative, label in expected.items():
        if label is None:
            assert by_key[relative]["status"] == "rejected" and "text" in by_key[relative]["reason"]
        else:
            assert by_key[relative]["label"] == label and by_key[relative]["status"] == "ok"
    assert by_key["DCIM/100/IMG_0001.JPG"]["batch"] == "DCIM/100"


def test_spotter_sync_uploads_then_resumes_and_reports(spotter_up, tmp_path):
    e = spotter_up["endpoints"]
    expected = _folder(tmp_path)
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")

    def sync(*extra):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "spotter.cli",
                "sync",
                str(tmp_path),
                "--source",
                "heron",
                "--state-dir",
                str(spotter_up["state"]),
                *extra,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
        )

    first = sync()
    assert first.returncode == 0, first.stderr
    assert f"uploaded {len(expected)}, skipped 0 unchanged, failed 0" in first.stderr
    _wait_for(e, "heron", len(expected))

    second = sync()
    assert second.returncode == 0 and f"uploaded 0, skipped {len(expected)} unchanged" in second.stderr

    (tmp_path / "DCIM/100/IMG_0001.JPG").write_bytes(images.jpeg(images.GREEN, size=(70, 50)))
    third = sync()
    assert f"uploaded 1, skipped {len(expected) - 1} unchanged" in third.stderr
    changed = wait_until(
        lambda: [r for r in _records(e, "heron") if r["key"].endswith("IMG_0001.JPG")],
        30,
        0.5,
        until=lambda changed: changed and changed[0]["label"] == "green",
        fail=False,
    )
    assert changed[0]["label"] == "green" and len(_records(e, "heron")) == len(expected)


def test_spotter_sync_skips_what_aws_s3_sync_already_uploaded_in_parts(spotter_up, tmp_path):
    e = spotter_up["endpoints"]
    big = images.jpeg(images.BLUE) + b"\0" * (9 * 1024 * 1024)  # over the CLI's 8 MB multipart threshold
    (tmp_path / "big.jpg").write_bytes(big)
    (tmp_path / "small.jpg").write_bytes(images.jpeg(images.RED))
    result = _aws_s3_sync(e, tmp_path, "wren")
    assert result.returncode == 0, result.stderr
    assert _s3(e).head_object(Bucket=e["bucket"], Key="drones/wren/big.jpg")["ETag"].strip('"').endswith("-2")
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "spotter.cli",
            "sync",
            str(tmp_path),
            "--source",
            "wren",
            "--state-dir",
            str(spotter_up["state"]),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert again.returncode == 0 and "uploaded 0, skipped 2 unchanged" in again.stderr, again.stderr


def test_ctrl_c_stops_spotter_sync_promptly_and_a_rerun_finishes_the_job(spotter_up, tmp_path):
    e = spotter_up["endpoints"]
    photo = images.jpeg(images.GREEN, size=(16, 16))
    total = 1500  # ~10 s of uploading here: room for the interrupt to land mid-run on a loaded machine
    for i in range(total):
        (tmp_path / f"IMG_{i:04d}.jpg").write_bytes(photo)
    s3 = _s3(e)

    def count():
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=e["bucket"], Prefix="drones/swift/")
        return sum(page.get("KeyCount", 0) for page in pages)

    command = [
        sys.executable,
        "-m",
        "spotter.cli",
        "sync",
        str(tmp_path),
        "--source",
        "swift",
        "--jobs",
        "2",
        "--state-dir",
        str(spotter_up["state"]),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        # a job started in the background by a non-interactive shell (as CI may be) inherits SIGINT
        # ignored, and Python then never raises KeyboardInterrupt: give sync the terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    # interrupt once the first upload is done: sync prints its first progress line then (polling the
    # bucket instead raced the whole run on a loaded CI machine)
    wait_until(lambda: any(f"/{total} files" in line for line in lines), 60, 0.02)
    process.send_signal(signal.SIGINT)
    interrupted_at = time.monotonic()
    process.wait(timeout=60)
    reader.join(timeout=10)
    stderr = "".join(lines)
    assert process.returncode == 130 and "interrupted:" in stderr, stderr
    assert time.monotonic() - interrupted_at < 10
    uploaded = count()
    assert 1 <= uploaded < total, stderr
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, env=clean_env())
    assert rerun.returncode == 0 and f"uploaded {total - uploaded}, skipped {uploaded} unchanged" in rerun.stderr
    assert count() == total


def test_spotter_sync_usage_errors_exit_two(tmp_path):
    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "spotter.cli", "sync", *a],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )

    assert run(str(tmp_path / "missing"), "--source", "x").returncode == 2
    bad = run(str(tmp_path), "--source", "../etc", "--state-dir", str(tmp_path))
    assert bad.returncode == 2 and "source must be" in bad.stderr
    none = run(str(tmp_path), "--source", "ok", "--state-dir", str(tmp_path / "nowhere"))
    assert (
        none.returncode == 2 and "no target" in none.stderr and str(tmp_path / "nowhere" / "local.json") in none.stderr
    )


def test_a_stopped_local_stack_gets_one_line_not_a_traceback(tmp_path):
    (tmp_path / "local.json").write_text(
        json.dumps(
            {
                "s3": "http://127.0.0.1:9",
                "bucket": "b",
                "table": "t",
                "queue": "http://127.0.0.1:9/q",
                "region": "us-east-1",
            }
        )
    )
    for command in (["query", "--source", "owl"], ["sync", str(tmp_path), "--source", "owl"]):
        result = subprocess.run(
            [sys.executable, "-m", "spotter.cli", *command, "--state-dir", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "127.0.0.1:9" in result.stderr
