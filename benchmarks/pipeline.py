"""Images through the whole local stack: `spotter sync` -> S3 -> SQS -> classify -> DynamoDB.

Reports upload and end-to-end throughput (until the last prediction is written), the count of
objects in the bucket against records in the table (lost = the difference, must be 0), the
dead-letter queue, and the stack process's memory after warm-up and at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, SHARED, default_model, table

DEMO_SOURCE = "bench-drone"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _images(folder: Path, count: int) -> None:
    photos = sorted((SHARED / "data" / "isic-uda1").glob("*.jpg"))
    if not photos:
        sys.path.insert(0, str(ROOT / "tests" / "support"))
        import images  # generated stand-ins when ../shared is absent

        generated = folder / "_seed"
        generated.mkdir()
        for i in range(20):
            (generated / f"g{i}.jpg").write_bytes(images.encode(images.photo_like((256, 256), seed=i), "JPEG"))
        photos = sorted(generated.glob("*.jpg"))
    for i in range(count):
        sub = folder / f"flight-{i // 250:02d}"
        sub.mkdir(exist_ok=True)
        os.link(photos[i % len(photos)], sub / f"IMG_{i:05d}.jpg") if photos[
            0
        ].stat().st_dev == sub.stat().st_dev else shutil.copy(photos[i % len(photos)], sub / f"IMG_{i:05d}.jpg")
    shutil.rmtree(folder / "_seed", ignore_errors=True)


def _clients(endpoints: dict):
    import boto3

    kwargs = {
        "endpoint_url": endpoints["s3"],
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    return boto3.client("s3", **kwargs), boto3.client("dynamodb", **kwargs), boto3.client("sqs", **kwargs)


def _count_records(dynamodb, table_name: str) -> int:
    pages = dynamodb.get_paginator("scan").paginate(TableName=table_name, Select="COUNT")
    return sum(page["Count"] for page in pages)


def _count_objects(s3, bucket: str, prefix: str) -> int:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(page.get("KeyCount", 0) for page in pages)


def run_pipeline(count: int, model_path=None, pollers: int = 2, timeout_s: float = 900.0) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("UPLOADS_BUCKET", "PREDICTIONS_TABLE")
    }
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        folder, state = tmp / "photos", tmp / "state"
        folder.mkdir()
        _images(folder, count)
        stack = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spotter.cli",
                "up",
                "--state-dir",
                str(state),
                "--pollers",
                str(pollers),
                "--model",
                str(model_path or default_model()[0]),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "up.log", "w"),
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            while not (state / "local.json").exists():
                if stack.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"spotter up did not start: {(tmp / 'up.log').read_text()[-2000:]}")
                time.sleep(0.2)
            endpoints = json.loads((state / "local.json").read_text())
            s3, dynamodb, sqs = _clients(endpoints)
            rss_start = _rss_mb(stack.pid)
            started = time.monotonic()
            sync = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "spotter.cli",
                    "sync",
                    str(folder),
                    "--source",
                    DEMO_SOURCE,
                    "--state-dir",
                    str(state),
                    "--jobs",
                    "8",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            uploaded_s = time.monotonic() - started
            records, rss_peak = 0, rss_start
            while time.monotonic() - started < timeout_s:
                records = _count_records(dynamodb, endpoints["table"])
                rss_peak = max(rss_peak, _rss_mb(stack.pid))
                if records >= count:
                    break
                time.sleep(1.0)
            finished_s = time.monotonic() - started
            time.sleep(2.0)  # anything still in flight would show up as a duplicate or a DLQ entry now
            objects = _count_objects(s3, endpoints["bucket"], f"drones/{DEMO_SOURCE}/")
            records = _count_records(dynamodb, endpoints["table"])
            dead = int(
                sqs.get_queue_attributes(
                    QueueUrl=endpoints["dead_letter_queue"], AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            return {
                "images": count,
                "pollers": pollers,
                "sync_exit": sync.returncode,
                "upload_per_s": count / uploaded_s,
                "end_to_end_s": finished_s,
                "end_to_end_per_s": records / finished_s,
                "objects": objects,
                "records": records,
                "lost": objects - records,
                "dead_letters": dead,
                "rss_start_mb": rss_start,
                "rss_end_mb": _rss_mb(stack.pid),
                "rss_peak_mb": rss_peak,
            }
        finally:
            stack.send_signal(signal.SIGINT)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stack.kill()


def report(result: dict) -> str:
    rows = [
        [
            result["images"],
            result["pollers"],
            f"{result['upload_per_s']:.1f}",
            f"{result['end_to_end_s']:.1f}",
            f"{result['end_to_end_per_s']:.1f}",
            result["objects"],
            result["records"],
            result["lost"],
            result["dead_letters"],
            f"{result['rss_start_mb']:.0f} -> {result['rss_end_mb']:.0f} (peak {result['rss_peak_mb']:.0f})",
        ]
    ]
    return table(
        [
            "images",
            "classify workers",
            "upload img/s",
            "until last record s",
            "end to end img/s",
            "objects in bucket",
            "records in table",
            "lost",
            "dead letters",
            "stack RSS MB start -> end",
        ],
        rows,
    )


def run_sync(model_path=None) -> str:
    return report(run_pipeline(1000, model_path))


def run_load(model_path=None) -> str:
    return report(run_pipeline(5000, model_path))
