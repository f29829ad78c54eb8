"""Billed time per image for a batch of 10 full-resolution photos, one object after another against
overlapped (`ClassifyService.classify_batch`), with network latencies injected into the adapters.

On Lambda the billed duration of a batch is its wall time; most of it was waiting on S3 and DynamoDB.
The adapters here keep the objects and records in memory and sleep as the network would:
an S3 GET 25 ms plus the transfer at 50 MB/s, a DynamoDB write 8 ms. Decoding runs in the real
decode worker and inference in the real TFLite interpreter, as in the classify function.
Both ways run on the same service, alternately, in one process.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

from .common import SHARED, median_p95, table

S3_GET_S = 0.025
S3_BYTES_PER_S = 50e6
DYNAMODB_WRITE_S = 0.008
BATCH = 10
PHOTOS = SHARED / "data" / "isic-uda1-full"


class LatentObjects:
    """An S3 stand-in: `read` sleeps for a GET's first byte and the transfer of what it returns."""

    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects

    def read(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None):
        from spotter.ports import StoredObject

        data = self.objects[key][: max_bytes + 1]
        time.sleep(S3_GET_S + len(data) / S3_BYTES_PER_S)
        return StoredObject(data=data, size=len(self.objects[key]), etag="e")

    def discard(self, bucket: str, key: str, version_id: str | None) -> None:
        self.objects.pop(key, None)


class LatentPredictions:
    """A DynamoDB stand-in: each conditional put sleeps one write's round trip."""

    def __init__(self):
        self.items: dict[tuple[str, str], object] = {}
        self.lock = threading.Lock()

    def put(self, record) -> bool:
        time.sleep(DYNAMODB_WRITE_S)
        with self.lock:
            self.items[(record.object_id, record.model)] = record
        return True


def photos(count: int = BATCH) -> list[Path]:
    found = sorted(PHOTOS.glob("*.jpg"))[:count]
    if len(found) < count:
        raise SystemExit(f"overlap benchmark: needs {count} photos in {PHOTOS}, found {len(found)}")
    return found


def build_service(model_path, objects: dict[str, bytes]):
    from spotter.ingest.decode_sandbox import BudgetedDecoder
    from spotter.ingest.imaging import DecodeLimits
    from spotter.ingest.pipeline import ClassifyService
    from spotter.model.classifier import Classifier

    limits = DecodeLimits(memory_bytes=704 * 1024 * 1024, seconds=2.7)
    return ClassifyService(
        objects=LatentObjects(objects),
        predictions=LatentPredictions(),
        classifier=Classifier.load(model_path, num_threads=1),
        limits=limits,
        decoder=BudgetedDecoder(limits).start(),
    )


def measure(model_path, rounds: int = 7) -> dict:
    from spotter.ingest.events import S3Object

    files = photos()
    objects = {f"drones/bench/{path.name}": path.read_bytes() for path in files}
    events = [
        S3Object(bucket="bench", key=key, size=len(data), sequencer=f"{i:016X}")
        for i, (key, data) in enumerate(objects.items())
    ]
    service = build_service(model_path, objects)
    ways = {
        "sequential": lambda: [service.classify(obj) for obj in events],
        "overlapped": lambda: service.classify_batch(events),
    }
    samples: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for way in ways.values():  # warm both paths once
            way()
        for _ in range(rounds):  # alternately, so both see the same machine
            for name, way in ways.items():
                started = time.perf_counter()
                outcomes = way()
                samples[name].append((time.perf_counter() - started) * 1000 / len(events))
                assert all(getattr(o, "record", None) is not None and o.record.status == "ok" for o in outcomes), (
                    outcomes
                )
        records = list(service.predictions.items.values())
    finally:
        service.decoder.close()
    sizes = [len(data) for data in objects.values()]
    return {"samples": samples, "records": records, "mean_bytes": statistics.mean(sizes), "photos": len(files)}


def run(model_path) -> str:
    result = measure(model_path)
    rows = []
    for name, values in result["samples"].items():
        median, p95 = median_p95(values)
        rows.append([name, f"{median:.1f}", f"{p95:.1f}", f"{min(values):.1f}"])
    sequential = statistics.median(result["samples"]["sequential"])
    overlapped = statistics.median(result["samples"]["overlapped"])
    text = table(["batch of 10 full-resolution photos", "billed ms per image (median)", "p95", "best"], rows)
    text += (
        f"\n\nInjected: S3 GET {S3_GET_S * 1000:.0f} ms + transfer at {S3_BYTES_PER_S / 1e6:.0f} MB/s "
        f"(photos {result['mean_bytes'] / 1e6:.2f} MB on average), DynamoDB write {DYNAMODB_WRITE_S * 1000:.0f} ms; "
        f"{len(result['samples']['sequential'])} rounds each, alternating.\n"
        f"overlapped / sequential: {overlapped / sequential:.0%} (target <= 50%)"
    )
    return text
