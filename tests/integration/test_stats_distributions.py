"""spotter stats: percentiles of the score, a histogram per label or decision, and the per-day plot's
points on their days (issue 28, item 6), against the table in moto."""

import csv
import io
from datetime import date

import numpy as np
import pytest
from records_helpers import make_record

from spotter.adapters.dynamodb import DynamoPredictions
from spotter.cli import main as spotter

RULE = "malignant if its score >= 0.300; uncertain 0.200-0.400"


def _decided(i: int, malignant: float):
    label, score = ("malignant", malignant) if malignant >= 0.5 else ("benign", round(1 - malignant, 6))
    decision = "malignant" if malignant >= 0.4 else "uncertain" if malignant >= 0.2 else "benign"
    return make_record(
        i,
        label=label,
        score=score,
        top=[
            {"label": label, "score": score},
            {"label": "benign" if label == "malignant" else "malignant", "score": round(1 - score, 6)},
        ],
        decision=decision,
        decision_rule=RULE,
    )


@pytest.fixture
def decided(stack):
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    malignant = [round(0.013 * i + 0.01, 6) for i in range(70)]
    records = [_decided(i, m) for i, m in enumerate(malignant)]
    for record in records:
        DynamoPredictions(table).put(record)
    return stack.spec.predictions.name, records


def test_stats_gives_percentiles_of_the_positive_score_and_names_it(decided, capsys):
    name, records = decided
    assert spotter(["stats", "--table", name, "--by", "decision", "--source", "owl", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0])[-3:] == ["p5_malignant", "p50_malignant", "p95_malignant"]
    for row in rows:
        # the positive label's own score, not the top score (which is never below 0.5)
        scores = [
            next(t["score"] for t in r.top if t["label"] == "malignant")
            for r in records
            if r.decision == row["decision"]
        ]
        for q in (5, 50, 95):
            assert float(row[f"p{q}_malignant"]) == pytest.approx(np.percentile(scores, q), abs=1e-6)
    # what the API's /stats calls: the basis found from the records themselves
    from spotter.results.stats import summarise

    (everything,) = summarise(iter(records), ("source",))
    assert everything["p50_malignant"] == pytest.approx(
        np.percentile([r.top[0]["score"] if r.label == "malignant" else r.top[1]["score"] for r in records], 50)
    )


def test_without_a_decision_the_percentiles_are_of_the_top_score(stack, capsys):
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    records = [make_record(i) for i in range(30)]
    for record in records:
        DynamoPredictions(table).put(record)
    assert spotter(["stats", "--table", table.name, "--source", "owl", "--format", "csv"]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert float(row["p50_top"]) == pytest.approx(np.percentile([r.score for r in records], 50), abs=1e-6)


def test_histogram_per_decision_counts_every_scored_record(decided, tmp_path, capsys):
    from spotter.results.plot import score_histogram

    name, _records = decided
    picture = tmp_path / "scores.png"
    assert spotter(["stats", "--table", name, "--by", "decision", "--source", "owl", "--histogram", str(picture)]) == 0
    assert f"drew {picture}" in capsys.readouterr().err
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 5000
    drawn = score_histogram({"a": [0.0, 0.049, 0.05, 0.5, 1.0]}, tmp_path / "h.svg")
    assert drawn["counts"]["a"][0] == 2 and drawn["counts"]["a"][1] == 1 and drawn["counts"]["a"][-1] == 1
    assert sum(drawn["counts"]["a"]) == 5 and (tmp_path / "h.svg").read_text().lstrip().startswith("<?xml")
    assert spotter(["stats", "--table", name, "--histogram", str(tmp_path / "h.txt")]) == 2
    assert "--histogram writes .png, .svg or .pdf" in capsys.readouterr().err


def test_per_day_points_sit_on_their_days(tmp_path):
    import matplotlib.dates as mdates

    from spotter.results.plot import plot_counts

    counts = {"benign": {"2026-11-01": 3, "2026-11-06": 5}, "malignant": {"2026-11-01": 3, "2026-11-04": 1}}
    drawn = plot_counts(counts, tmp_path / "days.png")
    days = ["2026-11-01", "2026-11-04", "2026-11-06"]
    for name, points in drawn["points"].items():
        assert [x for x, _ in points] == [mdates.date2num(date.fromisoformat(d)) for d in days]
        assert [y for _, y in points] == [counts[name].get(d, 0) for d in days]
    # equal counts on a day stay visible: rings of different sizes around the same point
    assert len(set(drawn["sizes"].values())) == 2
