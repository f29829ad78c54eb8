"""Prediction records for the analysts', stats/SQL and Parquet-copy tests: a seeded table, a query's
reference filter, one record by number, and the README's Athena examples."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from spotter.adapters.dynamodb import DynamoPredictions
from spotter.records import PredictionRecord, apply_detection, object_id_for
from spotter.results.query import PredictionQuery

# The README's three Athena examples: the same text runs in `spotter sql` and in Athena. Each names its
# model versions: the table keeps one record per (object, model version), so without that an image
# reprocessed with a new model would count once per version.
PER_LABEL_PER_DRONE_PER_DAY = """
SELECT upload_day, source, label, count(*) AS images, round(avg(score), 3) AS mean_score
FROM predictions
WHERE status = 'ok' AND model = 'm@1'
GROUP BY upload_day, source, label
ORDER BY upload_day, source, label
"""
POSITIVES_IN_A_BOX = """
SELECT source, file_name, score, latitude, longitude, uploaded_at
FROM predictions
WHERE model = 'm@2' AND label = 'malignant' AND score >= 0.8
  AND latitude BETWEEN 42.0 AND 48.0 AND longitude BETWEEN 0.0 AND 8.0
ORDER BY score DESC, object_id
"""
MODEL_VERSIONS_COMPARED = """
SELECT a.label AS label_v1, b.label AS label_v2, count(*) AS images
FROM predictions a JOIN predictions b ON a.object_id = b.object_id
WHERE a.model = 'm@1' AND b.model = 'm@2' AND a.status = 'ok' AND b.status = 'ok'
GROUP BY a.label, b.label
ORDER BY a.label, b.label
"""

# The analysts' page's Athena example for an object detector: the same text runs in `spotter sql` (its
# table `detections`) and in Athena (the copy's detections dataset).
DETECTOR = "coco-ssd-mobilenet-v1@1.0-quant"
OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE = """
SELECT upload_day, source, label, count(*) AS objects, count(DISTINCT object_id) AS images,
  round(avg(score), 3) AS mean_score
FROM detections
WHERE model = 'coco-ssd-mobilenet-v1@1.0-quant'
GROUP BY upload_day, source, label
ORDER BY upload_day, source, label
"""


def seed_table(table, count=60):
    rng = random.Random(7)
    records = []
    for i in range(count):
        ok = i % 7 != 0
        source = ["web", "falcon", "owl"][i % 3]
        if source == "web":
            key, batch = f"uploads/b{i % 4}/{i:036d}-img{i}.jpg", f"b{i % 4}"
        elif i % 4 == 3:  # at the top of the drone's folder: no batch
            key, batch = f"drones/{source}/img{i}.jpg", None
        else:
            key, batch = f"drones/{source}/f{i % 2}/img{i}.jpg", f"f{i % 2}"
        label = rng.choice(["benign", "malignant"]) if ok else None
        lat, lon = (rng.uniform(40, 50), rng.uniform(-5, 10)) if i % 2 else (None, None)
        record = PredictionRecord(
            object_id=object_id_for("b", key),
            model="m@1" if i % 5 else "m@2",
            bucket="b",
            key=key,
            status="ok" if ok else "rejected",
            source=source,
            batch=batch,
            file_name=f"img{i}.jpg",
            uploaded_at=f"2026-11-{1 + i % 20:02d}T10:{i % 60:02d}:00.000Z",
            classified_at="2026-11-22T00:00:00.000Z",
            model_name="m",
            model_version="1" if i % 5 else "2",
            reason=None if ok else "not an image",
            label=label,
            score=round(rng.uniform(0.5, 1.0), 4) if ok else None,
            top=[{"label": label, "score": 0.9}] if ok else [],
            captured_at=f"2026-10-{1 + i % 28:02d}T08:00:00.000Z" if i % 3 else None,
            latitude=round(lat, 5) if lat else None,
            longitude=round(lon, 5) if lon else None,
        )
        DynamoPredictions(table).put(record)
        records.append(record)
    return records


def matches_query(r: PredictionRecord, q: PredictionQuery) -> bool:
    checks = [
        q.batch is None or r.batch == q.batch,
        q.source is None or r.source == q.source,
        q.label is None or r.label == q.label,
        q.status is None or r.status == q.status,
        q.model is None or r.model == q.model,
        q.since is None or r.uploaded_at >= q.since,
        q.until is None or r.uploaded_at < q.until,
        q.captured_since is None or (r.captured_at or "") >= q.captured_since,
        q.captured_until is None or (r.captured_at is not None and r.captured_at < q.captured_until),
        q.min_score is None or (r.score is not None and r.score >= q.min_score),
        q.max_score is None or (r.score is not None and r.score <= q.max_score),
        q.bbox is None
        or (
            r.latitude is not None
            and r.longitude is not None
            and q.bbox[0] <= r.latitude <= q.bbox[2]
            and (
                q.bbox[1] <= r.longitude <= q.bbox[3]
                if q.bbox[1] <= q.bbox[3]
                else r.longitude >= q.bbox[1] or r.longitude <= q.bbox[3]
            )
        ),
    ]
    return all(checks)


def make_record(i: int, **changes) -> PredictionRecord:
    values: dict[str, Any] = {
        "object_id": object_id_for("b", f"drones/owl/{i}.jpg"),
        "model": "m@1",
        "bucket": "b",
        "key": f"drones/owl/{i}.jpg",
        "status": "ok",
        "source": "owl",
        "file_name": f"{i}.jpg",
        "uploaded_at": f"2026-11-0{1 + i % 3}T10:00:00.000Z",
        "classified_at": "2026-11-05T00:00:00.000Z",
        "model_name": "m",
        "model_version": "1",
        "label": "benign",
        "score": 0.5 + i / 100,
        "top": [{"label": "benign", "score": 0.5 + i / 100}, {"label": "malignant", "score": 0.4}],
        "etag": f"e{i}",
        "frames": 1,
        "preprocess_ms": 1.5,
        "captured_at": "2026-10-01T08:00:00.000",
    }
    values.update(changes)
    return PredictionRecord(**values)


@dataclass
class FoundObjects:
    """A detector's result as records.apply_detection takes it (records.DetectionSummary): boxes as
    (label, score, (x_min, y_min, x_max, y_max))."""

    boxes: list[tuple[str, float, tuple[float, float, float, float]]]
    views_done: int = 1
    tiling_note: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(label for label, _, _ in self.boxes).most_common())

    def stored(self) -> list[dict[str, Any]]:
        ordered = sorted(self.boxes, key=lambda b: -b[1])
        return [{"label": label, "score": score, "box": list(box)} for label, score, box in ordered]


def detection_record(i: int, boxes, **changes) -> PredictionRecord:
    """make_record's record `i` as the shipped COCO detector makes it, with these boxes."""
    name, version = DETECTOR.split("@")
    record = make_record(i, **{"model": DETECTOR, "model_name": name, "model_version": version, **changes})
    apply_detection(record, FoundObjects(list(boxes)))
    return record
