"""A picture of counts over time per label (matplotlib, drawn off screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .records import PredictionRecord


def counts_per_day(records: Iterable[PredictionRecord], series: str = "label") -> dict[str, dict[str, int]]:
    """{series value: {upload day: count}}; rejected records (no label) count as "(rejected)"."""
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        name = getattr(record, series) or ("(rejected)" if record.status == "rejected" else "(none)")
        days = counts.setdefault(str(name), {})
        days[record.upload_day] = days.get(record.upload_day, 0) + 1
    return counts


def plot_counts(counts: dict[str, dict[str, int]], path: Path, title: str = "Images per day by label") -> None:
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    from datetime import date

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        days = sorted({day for per_day in counts.values() for day in per_day})
        for name in sorted(counts, key=lambda n: -sum(counts[n].values())):
            axes.plot([date.fromisoformat(d) for d in days], [counts[name].get(d, 0) for d in days],
                      marker="o", markersize=3, label=f"{name} ({sum(counts[name].values())})")
        axes.set_title(title)
        axes.set_xlabel("upload day (UTC)")
        axes.set_ylabel("images")
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        axes.grid(True, alpha=0.3)
        if counts:
            axes.legend(loc="upper left", fontsize="small")
        figure.autofmt_xdate()
        figure.savefig(path)
    finally:
        plt.close(figure)
