"""Two model versions side by side on the same images: agreement, outcome changes, score shifts.

A record's outcome is the model card's decision when it has one (`uncertain` in its band), else its
top label; a record that was not classified is `(rejected)` or `(refused)`. The score shift of an image
is the score NEW gives OLD's top label minus the score OLD gave it (from NEW's top-k), so a shift
compares like with like even when the top label changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from spotter.records import PredictionRecord

COLUMNS = ["old", "new", "images", "share", "mean_old_score", "mean_new_score", "mean_shift", "min_shift", "max_shift"]


def outcome(record: PredictionRecord) -> str:
    if record.status != "ok":
        return f"({record.status})"
    return record.decision or record.label or "(none)"


def score_of(record: PredictionRecord, label: str | None) -> float | None:
    """The score `record` gives `label`: its own score for its top label, else from its top-k."""
    if label is None:
        return None
    if record.label == label:
        return record.score
    for entry in record.top or []:
        if entry.get("label") == label and entry.get("score") is not None:
            return float(entry["score"])
    return None


@dataclass
class Comparison:
    both: int = 0
    agree: int = 0
    only_old: int = 0
    only_new: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def compare(old: Iterable[PredictionRecord], new: Iterable[PredictionRecord]) -> Comparison:
    """Pairs the records of two model versions by object (an image with a record from one only is
    counted as such) and groups the pairs by (OLD outcome, NEW outcome): most images first."""
    by_object = {r.object_id: r for r in old}
    result = Comparison()
    groups: dict[tuple[str, str], list[tuple[float | None, float | None]]] = {}
    seen: set[str] = set()
    for record in new:
        before = by_object.get(record.object_id)
        if before is None:
            result.only_new += 1
            continue
        seen.add(record.object_id)
        result.both += 1
        key = (outcome(before), outcome(record))
        result.agree += key[0] == key[1]
        old_score = before.score if before.status == "ok" else None
        new_score = score_of(record, before.label) if before.status == "ok" and record.status == "ok" else None
        groups.setdefault(key, []).append((old_score, new_score))
    result.only_old = len(set(by_object) - seen)
    for (was, now), pairs in groups.items():
        olds = [o for o, _ in pairs if o is not None]
        news = [n for _, n in pairs if n is not None]
        shifts = [n - o for o, n in pairs if o is not None and n is not None]
        result.rows.append(
            {
                "old": was,
                "new": now,
                "images": len(pairs),
                "share": round(len(pairs) / result.both, 4),
                "mean_old_score": round(sum(olds) / len(olds), 6) if olds else None,
                "mean_new_score": round(sum(news) / len(news), 6) if news else None,
                "mean_shift": round(sum(shifts) / len(shifts), 6) if shifts else None,
                "min_shift": round(min(shifts), 6) if shifts else None,
                "max_shift": round(max(shifts), 6) if shifts else None,
            }
        )
    result.rows.sort(key=lambda r: (-r["images"], r["old"], r["new"]))
    return result


def summary_line(result: Comparison, old: str, new: str) -> str:
    if not result.both:
        return (
            f"no image has a record from both {old} and {new} ({result.only_old} from {old} only, "
            f"{result.only_new} from {new} only): reprocess them with the new model first"
        )
    agree = 100 * result.agree / result.both
    return (
        f"{result.both} images classified by both {old} and {new}: {result.agree} agree ({agree:.1f}%), "
        f"{result.both - result.agree} changed; {result.only_old} from {old} only, {result.only_new} from {new} only"
    )
