"""DynamoDB write units per image, storage per record and read units per listed page, computed
from the items the classify function writes.

On-demand DynamoDB charges one write unit per 1 KB (rounded up) of each item written, for the table
and again for every index the item lands in (its projected copy), and stores each item and each
index entry with 100 bytes of overhead. A Query reads the index entries it goes through, summed and
rounded up to 4 KB (half a unit, eventually consistent); BatchGetItem reads each item rounded up to
4 KB (half a unit each). moto reports a flat 1.0 for any put and 0.5 for any get whatever the size
and the indexes, so everything is computed here from item sizes by DynamoDB's rules (attribute names
plus values: strings by UTF-8 length, numbers about 1 byte per 2 digits + 1, lists and maps 3 bytes
plus 1 per element), on real records: the full-resolution photos classified by the production code
path and serialised by the production adapter (`spotter.adapters.dynamodb_records.to_item`), under
the keys web uploads and drones really get, and one record made large the ways a real one can be
(rich EXIF, a model with many labels, a long file name). The indexes and their projections come from
infra/template.yaml; each is also costed as `ALL`, the projection before issue 20.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from decimal import Decimal
from typing import Any

from .common import table

KB = 1024
READ_UNIT_BYTES = 4 * KB
OVERHEAD = 100  # bytes DynamoDB stores with each item and each index entry
PAGE = 100  # records a listed page holds (the API's default limit)
READ_PRICE = 0.125 / 1e6  # $ per on-demand read unit, us-east-1
STORAGE_PRICE = 0.25 + 0.20  # $ per GB-month, with point-in-time recovery


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


def read_units(size: int) -> float:
    """Eventually consistent: half a unit per 4 KB, rounded up (a Query's whole result, or one item of a BatchGetItem)."""
    return 0.5 * max(1, math.ceil(size / READ_UNIT_BYTES))


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
    from spotter.ingest.events import S3Object
    from spotter.ingest.pipeline import ClassifyService
    from spotter.model.classifier import Classifier
    from spotter.ports import StoredObject

    from .overlap import photos

    files = {path.name: path.read_bytes() for path in photos()}
    files["notes.jpg"] = b"meeting notes, not a photo\n"

    class Objects:
        def read(self, bucket, key, max_bytes, version_id=None):
            data = next(data for name, data in files.items() if key.endswith(("/" + name, "-" + name)))
            return StoredObject(data=data, size=len(data), etag="9b2cf535f27731c974343645a3985328")

        def discard(self, bucket, key, version_id):
            pass

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


# A record as large as a real one gets: a drone's photo with a long name in a nested folder, a
# camera that fills EXIF's make and model (spotter.ingest.exif keeps up to 200 characters of each), GPS
# and altitude, and a model with ten labels reporting its top 10 (TOP_K=10).
LABELS = [
    "melanoma",
    "melanocytic nevus",
    "basal cell carcinoma",
    "actinic keratosis",
    "benign keratosis-like lesion",
    "dermatofibroma",
    "vascular lesion",
    "squamous cell carcinoma",
    "seborrheic keratosis",
    "lentigo maligna",
]


def large_record(base):
    name = "plot-17_quadrant-C_transect-04_" + "north-east-hedgerow-survey-" * 3 + "IMG_20261123_101503_HDR.jpg"
    key = f"drones/falcon-2/2026-11-23-north-field/row-07/{name}"
    return replace(
        base,
        key=key,
        source="falcon-2",
        batch="2026-11-23-north-field/row-07",
        file_name=name,
        camera=("Hasselblad Aerial Imaging Systems " * 6)[:200].strip()
        + " "
        + ("L2D-20c Mapping Payload v2 " * 8)[:200].strip(),
        captured_at="2026-11-23T10:15:03.000+01:00",
        latitude=52.2053371,
        longitude=0.1218136,
        altitude=48.123,
        label=LABELS[1],
        top=[{"label": label, "score": round(0.61 / (i + 1), 4)} for i, label in enumerate(LABELS)],
    )


def _projected_as(indexes: list[dict], projection_type: str) -> list[dict]:
    return [{**index, "Projection": {"ProjectionType": projection_type}} for index in indexes]


def _costs(items: list[dict], indexes: list[dict], table_keys: tuple[str, ...]) -> dict[str, Any]:
    """Write units, storage and a page's read units for `items` (means over them) under `indexes`."""
    sizes = [item_size(i) for i in items]
    copies = [index_copies(i, indexes, table_keys) for i in items]
    batch_copy = statistics.mean(c["by-batch"] for c in copies)  # the page lists a batch (by-batch)
    item = statistics.mean(sizes)
    query = read_units(round(PAGE * batch_copy))
    whole = all(i["Projection"]["ProjectionType"] == "ALL" for i in indexes)  # the entries are the records
    get = 0.0 if whole else PAGE * statistics.mean(read_units(s) for s in sizes)
    return {
        "item_bytes": item,
        "indexes": sorted(copies[0]),
        "copy_bytes": statistics.mean(s for c in copies for s in c.values()),
        "table_units": statistics.mean(units(s) for s in sizes),
        "copy_units": [statistics.mean(units(c[name]) for c in copies) for name in sorted(copies[0])],
        "index_units": statistics.mean(sum(units(s) for s in c.values()) for c in copies),
        "storage": statistics.mean(s + OVERHEAD + sum(v + OVERHEAD for v in c.values()) for s, c in zip(sizes, copies)),
        "query_ru": query,
        "get_ru": get,
        "page_ru": query + get,
    }


def measure(model_path) -> dict[str, dict[str, dict[str, Any]]]:
    """{record kind: {"INCLUDE" (the template's projections) or "ALL": costs}}."""
    from spotter.adapters.dynamodb_records import to_item
    from spotter.local.template import stack_spec

    predictions = stack_spec().predictions
    indexes = predictions.global_secondary_indexes
    table_keys = tuple(k["AttributeName"] for k in predictions.key_schema)
    kinds = sample_records(model_path)
    kinds["large (EXIF, 10 labels, long name)"] = [large_record(kinds["drone, in a folder"][0])]
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, records in kinds.items():
        items = [to_item(r) for r in records]
        rows[kind] = {
            "INCLUDE": _costs(items, indexes, table_keys),
            "ALL": _costs(items, _projected_as(indexes, "ALL"), table_keys),
        }
        for row in rows[kind].values():
            row["units"] = row["table_units"] + row["index_units"]
    return rows


def run(model_path) -> str:
    from spotter.local.template import stack_spec

    rows = measure(model_path)
    projections = {
        i["IndexName"]: i["Projection"]["ProjectionType"] for i in stack_spec().predictions.global_secondary_indexes
    }
    writes, reads = [], []
    pages = 1000 / PAGE
    for kind, r in rows.items():
        new, old = r["INCLUDE"], r["ALL"]
        writes.append(
            [
                kind,
                f"{new['item_bytes']:.0f}",
                f"{new['table_units']:g}",
                f"{len(new['indexes'])}",
                f"{new['copy_bytes']:.0f} B: {' + '.join(f'{u:g}' for u in new['copy_units'])}",
                f"{old['copy_bytes']:.0f} B: {' + '.join(f'{u:g}' for u in old['copy_units'])}",
                f"**{new['units']:g}** (ALL: {old['units']:g})",
                f"{new['storage'] / KB:.2f} KB (ALL: {old['storage'] / KB:.2f} KB)",
            ]
        )
        reads.append(
            [
                kind,
                f"{new['query_ru']:g} + {new['get_ru']:g} = **{new['page_ru']:g}**",
                f"{old['page_ru']:g}",
                f"${new['page_ru'] * pages * READ_PRICE:.6f} (ALL: ${old['page_ru'] * pages * READ_PRICE:.6f})",
            ]
        )
    text = (
        f"projections (infra/template.yaml): {', '.join(f'{k} {v}' for k, v in sorted(projections.items()))}\n\n"
        + table(
            [
                "record (full-resolution photos)",
                "item bytes",
                "table WU",
                "index copies",
                "INCLUDE: bytes per copy, WU each",
                "if ALL: bytes per copy, WU each",
                "WU per image",
                "storage per record",
            ],
            writes,
        )
        + "\n\n"
        + table(
            [
                f"a listed page of {PAGE} records (by-batch)",
                "INCLUDE: RU, Query + BatchGetItem",
                "if ALL: RU, Query",
                "reads per 1,000 records listed",
            ],
            reads,
        )
    )
    web, large = rows["web upload"], rows["large (EXIF, 10 labels, long name)"]
    text += (
        f"\n\nwrite units per image: web upload {web['INCLUDE']['units']:g} (ALL: {web['ALL']['units']:g}); "
        f"large record {large['INCLUDE']['units']:g} (ALL: {large['ALL']['units']:g}): a unit covers 1 KB, so an "
        "INCLUDE copy stays 1 unit where an ALL copy of an item over 1 KB costs 2 or more. "
        f"Storage per 1,000 web records: {web['INCLUDE']['storage'] * 1000 / 1e6:.2f} MB "
        f"(ALL: {web['ALL']['storage'] * 1000 / 1e6:.2f} MB), ${web['INCLUDE']['storage'] * 1000 / 1e9 * STORAGE_PRICE:.5f} "
        f"a month (ALL: ${web['ALL']['storage'] * 1000 / 1e9 * STORAGE_PRICE:.5f}) with PITR. Listing costs more: "
        f"BatchGetItem reads each record at half a unit, {web['INCLUDE']['page_ru']:g} RU a page of {PAGE} against "
        f"{web['ALL']['page_ru']:g} (moto's consumed capacity is a flat 1.0 a put and 0.5 a get: not used)"
    )
    return text
