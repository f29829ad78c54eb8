"""DynamoDB write units per image, computed from the items the classify function writes.

On-demand DynamoDB charges one write unit per 1 KB (rounded up) of each item written, for the table
and again for every index the item lands in (its projected copy). moto reports a flat 1.0 for any
put, so the units are computed here from item sizes by DynamoDB's rules (attribute names plus
values: strings by UTF-8 length, numbers about 1 byte per 2 digits + 1, lists and maps 3 bytes plus
1 per element), on real records: the full-resolution photos classified by the production code
path and serialised by the production adapter (`spotter.adapters.dynamodb.to_item`), under the keys
web uploads and drones really get. The indexes and their projections come from infra/template.yaml.
"""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from typing import Any

from .common import table

KB = 1024
# Powertools' idempotency layer, which the classify function used before: per object, a conditional
# PutItem (INPROGRESS) and an UpdateItem (COMPLETED), each well under 1 KB.
IDEMPOTENCY_WRITES = 2


def attribute_size(value) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float, Decimal)):
        digits = str(value).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if isinstance(value, list):
        return 3 + sum(attribute_size(v) + 1 for v in value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in value.items())
    raise TypeError(type(value))


def item_size(item: dict) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def index_copies(item: dict, indexes: list[dict], table_keys: tuple[str, ...]) -> dict[str, int]:
    """Each index the item lands in (it has every key attribute) and the size of its projected copy."""
    copies = {}
    for index in indexes:
        keys = [k["AttributeName"] for k in index["KeySchema"]]
        if not all(k in item for k in keys):
            continue  # sparse: no copy, no write
        projection = index["Projection"]
        if projection["ProjectionType"] == "ALL":
            projected = item
        else:
            names = set(keys) | set(table_keys) | set(projection.get("NonKeyAttributes", []))
            projected = {k: v for k, v in item.items() if k in names}
        copies[index["IndexName"]] = item_size(projected)
    return copies


def sample_records(model_path) -> dict[str, list]:
    """Records of the bench photos as a web upload and as a drone's, and of a file that is not an image."""
    from spotter.classifier import Classifier
    from spotter.events import S3Object
    from spotter.pipeline import ClassifyService
    from spotter.ports import StoredObject

    from .overlap import photos

    files = {path.name: path.read_bytes() for path in photos()}
    files["notes.jpg"] = b"meeting notes, not a photo\n"

    class Objects:
        def read(self, bucket, key, max_bytes, version_id=None):
            data = next(data for name, data in files.items() if key.endswith(("/" + name, "-" + name)))
            return StoredObject(data=data, size=len(data), etag="9b2cf535f27731c974343645a3985328")

    class Keep:
        def put(self, record):
            return True

    service = ClassifyService(
        objects=Objects(), predictions=Keep(), classifier=Classifier.load(model_path, num_threads=1)
    )
    bucket = "spotter-prod-uploads-123456789012-us-east-1"
    version = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
    ways = {
        "web upload": lambda name: f"uploads/20261123-101500-a1b2c3/5f0c6a1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b-{name}",
        "drone, in a folder": lambda name: f"drones/falcon-2/2026-11-23-north-field/{name}",
    }
    found: dict[str, list] = {}
    for way, key_for in ways.items():
        found[way] = [
            service.classify(
                S3Object(
                    bucket=bucket,
                    key=key_for(name),
                    size=len(data),
                    version_id=version,
                    sequencer="0055AED6DCD90281E5",
                    event_time="2026-11-23T10:15:03.123Z",
                )
            ).record
            for name, data in files.items()
            if name != "notes.jpg"
        ]
    found["not an image (rejected)"] = [
        service.classify(
            S3Object(
                bucket=bucket,
                key=ways["web upload"]("notes.jpg"),
                version_id=version,
                sequencer="0055AED6DCD90281E6",
                event_time="2026-11-23T10:15:04.000Z",
            )
        ).record
    ]
    return found


def measure(model_path) -> dict:
    from spotter.adapters.dynamodb_records import to_item
    from spotter.local.template import stack_spec

    predictions = stack_spec().predictions
    indexes = predictions.global_secondary_indexes
    table_keys = tuple(k["AttributeName"] for k in predictions.key_schema)
    rows: dict[str, dict[str, Any]] = {}
    for way, records in sample_records(model_path).items():
        items = [to_item(r) for r in records]
        sizes = [item_size(i) for i in items]
        copies = [index_copies(i, indexes, table_keys) for i in items]
        keys_only = [
            index_copies(i, [{**x, "Projection": {"ProjectionType": "KEYS_ONLY"}} for x in indexes], table_keys)
            for i in items
        ]
        rows[way] = {
            "item_bytes": statistics.mean(sizes),
            "indexes": sorted(copies[0]),
            "copy_bytes": statistics.mean(s for c in copies for s in c.values()),
            "table_units": statistics.mean(units(s) for s in sizes),
            "index_units": statistics.mean(sum(units(s) for s in c.values()) for c in copies),
            "keys_only_units": statistics.mean(sum(units(s) for s in c.values()) for c in keys_only),
            "keys_only_bytes": statistics.mean(s for c in keys_only for s in c.values()),
        }
        rows[way]["units"] = rows[way]["table_units"] + rows[way]["index_units"]
    return rows


def run(model_path) -> str:
    rows = measure(model_path)
    lines = []
    for way, r in rows.items():
        lines.append(
            [
                way,
                f"{r['item_bytes']:.0f}",
                f"{r['table_units']:g}",
                f"{len(r['indexes'])} ({', '.join(r['indexes'])})",
                f"{r['copy_bytes']:.0f}",
                f"{r['index_units']:g}",
                f"{r['units'] + IDEMPOTENCY_WRITES:g}",
                f"**{r['units']:g}**",
                f"{r['keys_only_bytes']:.0f} B: {r['keys_only_units'] + r['table_units']:g}",
            ]
        )
    text = table(
        [
            "record (full-resolution photos)",
            "item bytes",
            "table WU",
            "index copies",
            "bytes per copy",
            "index WU",
            "WU per image, with idempotency table (before)",
            "WU per image now",
            "if KEYS_ONLY: bytes per copy, WU",
        ],
        lines,
    )
    web = rows["web upload"]
    text += (
        f"\n\nwrite units per image (web upload): {web['units'] + IDEMPOTENCY_WRITES:g} before -> {web['units']:g} now "
        f"(the idempotency table's {IDEMPOTENCY_WRITES} writes dropped); a write unit covers 1 KB, so an index copy "
        "of an item under 1 KB costs 1 unit whatever its projection"
    )
    return text
