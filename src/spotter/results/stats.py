"""Counts and score summaries of prediction records, grouped by any of their dimensions.

An object detector's record (task "detect") counts objects: grouped by label it counts once per object
under each label it found (its `counts`), with its boxes' scores; and wherever such records are among
those summarised, every row has an `objects` column (the detected objects in the group). Classifiers'
records count once each, as always. The CLI's `spotter stats` and the API's `/stats` both use this.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from spotter.records import PredictionRecord
from spotter.results.export import is_detection
from spotter.results.query import PredictionQuery, QueryError, RunQuery, all_pages, plan

DIMENSIONS: dict[str, Callable[[PredictionRecord], str | None]] = {
    "label": lambda r: r.label,
    "source": lambda r: r.source,
    # a drone's folder is named with its drone (`falcon/f1`): never counted in a web batch of that name
    "batch": lambda r: r.batch if r.batch is None or r.source == "web" else f"{r.source}/{r.batch}",
    "status": lambda r: r.status,
    "decision": lambda r: r.decision,  # the card's decision at its threshold ("uncertain" in its band)
    "truth": lambda r: r.truth,  # the researcher's own diagnosis (spotter.results.scoring)
    "model": lambda r: r.model,
    "day": lambda r: r.upload_day,  # upload day (UTC)
    "capture_day": lambda r: r.captured_at[:10] if r.captured_at else None,  # as the camera dated it
}
SUMMARY_STATISTICS = ("mean", "min", "max")  # of distribution_score, named for its basis as the percentiles are
OBJECTS_COLUMN = "objects"  # after `count`, in rows summarising some detector's records
OBJECTS_PER_LABEL = (
    "objects per label (detection records count each object: a photo with two dogs counts 2 under dog, "
    "and mean/min/max are of the boxes' scores)"
)
PERCENTILES = (5, 50, 95)
RULE_SPLIT = " if its score"  # a decision_rule reads "<positive> if its score >= ..." (model.classifier)


def positive_label(record: PredictionRecord) -> str | None:
    """The positive label of the card's decision the record was made with; None without a decision."""
    if not record.decision_rule or RULE_SPLIT not in record.decision_rule:
        return None
    return record.decision_rule.split(RULE_SPLIT, 1)[0]


def distribution_score(record: PredictionRecord) -> float | None:
    """The score the percentiles and histograms describe: the positive label's own score when the
    record has the card's decision (its `score` is the top label's, which for a two-class card is never
    below 0.5), else the top label's score; None for a record without one (rejected)."""
    if record.positive_score is not None:  # written by the runtime since cards may calibrate it
        return record.positive_score
    positive = positive_label(record)
    if positive is not None:
        for entry in record.top or []:
            if entry.get("label") == positive and entry.get("score") is not None:
                return float(entry["score"])
        if record.label == positive and record.score is not None:
            return record.score
        if record.label is not None and record.score is not None and len(record.top or []) <= 2:
            return 1.0 - record.score  # a two-class card whose top-k kept only the winner
        return None
    return record.score


def score_basis(records: Iterable[PredictionRecord]) -> str:
    """What distribution_score means for these records, for the header: the positive label's name when
    every scored record has the same one, "top" when none has a decision, else "positive_or_top"."""
    return score_basis_of({positive_label(r) for r in records if r.score is not None})


def score_basis_of(positives: set[str | None]) -> str:
    if len(positives) == 1:
        return next(iter(positives)) or "top"
    return "positive_or_top" if positives else "top"


def percentile_columns(basis: str) -> list[str]:
    return [f"p{q}_{basis}" for q in PERCENTILES]


def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, linearly interpolated between the closest ranks
    (numpy's default, and DuckDB's quantile_cont)."""
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def parse_dimensions(text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (text or "label").split(",") if n.strip())
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown or not names:
        raise QueryError(f"by must name some of {', '.join(DIMENSIONS)} (comma-separated), got {text!r}")
    if len(set(names)) != len(names):
        raise QueryError(f"by names a field twice: {text!r}")
    return names


def scans(query: PredictionQuery) -> bool:
    """True when no batch, source, label or time window of up to 92 days narrows the query to an index."""
    return plan(query)[0].index is None


@dataclass
class _Group:
    count: int = 0
    scored: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    distribution: list[float] = field(default_factory=list)
    objects: int | None = None  # detected objects; None while no detector's record is in the group

    def add(self, score: float | None, distribution: float | None = None) -> None:
        self.count += 1
        if distribution is not None:
            self.distribution.append(distribution)
        if score is not None:
            self.scored += 1
            self.total += score
            self.low, self.high = min(self.low, score), max(self.high, score)

    def add_objects(self, objects: int, scores: list[float] | None = None, count: int | None = None) -> None:
        """A detector's record: `objects` found, `count` more for the `count` column and `scores` for the
        score columns (None and none: the caller counted the record, with its own score, by `add`)."""
        self.objects = (self.objects or 0) + objects
        if count is not None:
            self.count += count
        for score in scores or []:
            self.distribution.append(score)
            self.scored += 1
            self.total += score
            self.low, self.high = min(self.low, score), max(self.high, score)


def objects_by_label(record: PredictionRecord, only: str | None = None) -> list[tuple[str | None, int, list[float]]]:
    """A detector's record split by label: (label, objects, the stored boxes' scores) per label it
    counted, most numerous first; only the label `only` when given (a query's `--label`). A record that
    found nothing is (None, 0, []): it still counts, once, under no label."""
    counts = record.counts or {}
    if not counts:
        return [(None, 0, [])] if only is None else []
    scores: dict[str, list[float]] = {}
    for box in record.detections or []:
        if box.get("score") is not None:
            scores.setdefault(str(box.get("label")), []).append(float(box["score"]))
    return [(label, int(n), scores.get(label, [])) for label, n in counts.items() if only is None or label == only]


def summarise(
    records: Iterable[PredictionRecord],
    by: tuple[str, ...],
    basis: str | None = None,
    label: str | None = None,
) -> list[dict[str, Any]]:
    """One row per group: the group's fields, then count, mean/min/max score (None where no record of
    the group has a score, e.g. rejected ones), then the p5, p50 and p95 percentiles of
    distribution_score (the positive label's score under a decision, else the top score), named
    `p5_<basis>` ... (score_basis of the records, unless given). Largest groups first, then by the fields.

    A detector's record (task "detect"): grouped by label, it counts each object under its own label
    (objects_by_label; only `label`'s, the query's label, when given), its scores its boxes' scores;
    otherwise it counts once, with its objects. Where some are among `records`, every row has an
    `objects` column after `count` (None in a group of classifiers' records only): see counting_note."""
    groups: dict[tuple[str | None, ...], _Group] = {}
    positives: set[str | None] = set()
    detected = False
    for record in records:
        if record.score is not None:
            positives.add(positive_label(record))
        if not is_detection(record):
            key = tuple(DIMENSIONS[name](record) for name in by)
            groups.setdefault(key, _Group()).add(distribution_score(record), distribution_score(record))
            continue
        detected = True
        if "label" not in by:
            key = tuple(DIMENSIONS[name](record) for name in by)
            group = groups.setdefault(key, _Group())
            group.add(distribution_score(record), distribution_score(record))
            group.add_objects(record.objects if record.objects is not None else sum((record.counts or {}).values()))
            continue
        for found, objects, scores in objects_by_label(record, label):
            key = tuple(found if name == "label" else DIMENSIONS[name](record) for name in by)
            groups.setdefault(key, _Group()).add_objects(objects, scores, count=objects or 1)
    if basis is None:
        basis = score_basis_of(positives)
    rows: list[dict[str, Any]] = []
    for key, group in groups.items():
        ordered = sorted(group.distribution)
        rows.append(
            {
                **dict(zip(by, key)),
                "count": group.count,
                **({OBJECTS_COLUMN: group.objects} if detected else {}),
                f"mean_{basis}": round(group.total / group.scored, 6) if group.scored else None,
                f"min_{basis}": group.low if group.scored else None,
                f"max_{basis}": group.high if group.scored else None,
                **{
                    name: round(percentile(ordered, q), 6) if ordered else None
                    for q, name in zip(PERCENTILES, percentile_columns(basis))
                },
            }
        )
    rows.sort(key=lambda r: (-r["count"], tuple((v is None, v or "") for v in (r[n] for n in by))))
    return rows


def summary_columns(rows: list[dict[str, Any]], by: tuple[str, ...], basis: str) -> list[str]:
    """The columns of summarise's rows, in order: `objects` after `count` when they have it."""
    counted = ["count", OBJECTS_COLUMN] if any(OBJECTS_COLUMN in r for r in rows) else ["count"]
    return [*by, *counted, *summary_statistic_columns(basis), *percentile_columns(basis)]


def summary_statistic_columns(basis: str) -> list[str]:
    """mean, min and max of the score the rows describe, named for it (`mean_malignant`: the
    malignant score under a decision; `mean_top`: the top label's score), as the percentiles are."""
    return [f"{name}_{basis}" for name in SUMMARY_STATISTICS]


def counting_note(rows: list[dict[str, Any]], by: tuple[str, ...]) -> str | None:
    """What `count` counts, when it is not only records: objects per label (OBJECTS_PER_LABEL) where
    detectors' records are grouped by label; None otherwise."""
    if "label" in by and any(r.get(OBJECTS_COLUMN) is not None for r in rows):
        return OBJECTS_PER_LABEL
    return None


def matching_records(
    run_query: RunQuery,
    query: PredictionQuery,
    max_records: int | None = None,
) -> Iterable[PredictionRecord]:
    """Every record `query` matches, page by page through `run_query` (a port: query -> (records, cursor)).
    Past `max_records` it stops with a QueryError rather than answer with part of the count."""
    seen = 0
    for page in all_pages(run_query, query.replace(limit=1000, cursor=None)):
        seen += len(page)
        if max_records is not None and seen > max_records:
            raise QueryError(
                f"more than {max_records} records match: narrow the filters "
                "(batch, source, label, since/until) or query the Athena copy"
            )
        yield from page
