"""A picture of counts over time per label (matplotlib, drawn off screen)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TypedDict

from spotter.files import replaced
from spotter.records import PredictionRecord


def counts_per_day(records: Iterable[PredictionRecord], series: str = "label") -> dict[str, dict[str, int]]:
    """{series value: {upload day: count}}; rejected records (no label) count as "(rejected)"."""
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        name = getattr(record, series) or ("(rejected)" if record.status == "rejected" else "(none)")
        days = counts.setdefault(str(name), {})
        days[record.upload_day] = days.get(record.upload_day, 0) + 1
    return counts


class Drawn(TypedDict):
    x_range: tuple[date, date]  # the axis's first and last day
    points: dict[str, list[tuple[float, int]]]  # name -> (x as a matplotlib date number, count)
    sizes: dict[str, float]  # name -> its marker's size: equal counts on a day show as rings in rings


MARKERS = "osD^vP*Xh<>"
PAD_DAYS = 3  # a short span still shows as days, not as a multi-year axis


def plot_counts(counts: dict[str, dict[str, int]], path: Path, title: str = "Images per day by label") -> Drawn:
    """Draw counts per upload day, one series per name: every point sits on its own day (at the day's
    tick, never shifted sideways). Equal counts on a day stay visible as rings inside rings: each
    series has its own marker, hollow, a size smaller than the series before it, and the points are
    labelled with their count when there are few days. The axis spans at least the days drawn plus
    PAD_DAYS either side. Returns what was drawn: {"x_range": (first, last) dates of the axis,
    "points": {name: [(x, y), ...]}, "sizes": {name: marker size}}."""
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    from datetime import timedelta

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        days = sorted({day for per_day in counts.values() for day in per_day})
        names = sorted(counts, key=lambda n: (-sum(counts[n].values()), n))
        drawn: dict[str, list[tuple[float, int]]] = {}
        sizes: dict[str, float] = {}
        for n, name in enumerate(names):
            xs: list[float] = [
                mdates.date2num(date.fromisoformat(d))  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
                for d in days
            ]
            ys = [counts[name].get(d, 0) for d in days]
            size = max(4.0, 14.0 - 3.0 * n)
            line = axes.plot(
                xs,
                ys,
                marker=MARKERS[n % len(MARKERS)],
                markersize=size,
                markerfacecolor="none",
                markeredgewidth=1.6,
                linewidth=1.2,
                linestyle="-" if len(days) > 1 else "none",
                label=f"{name} ({sum(counts[name].values())})",
            )[0]
            if len(days) <= 14:
                for x, y in zip(xs, ys):
                    axes.annotate(
                        str(y),
                        (x, y),
                        textcoords="offset points",
                        xytext=(8 + 12 * n, 4),  # the count beside its ring; the ring itself on its day
                        ha="left",
                        fontsize="x-small",
                        color=line.get_color(),
                    )
            drawn[name] = list(zip(xs, ys))
            sizes[name] = size
        if days:
            first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
            axes.set_xlim(
                mdates.date2num(first - timedelta(days=PAD_DAYS)),  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
                mdates.date2num(last + timedelta(days=PAD_DAYS)),  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
            )
            axes.set_ylim(bottom=0, top=max(y for points in drawn.values() for _, y in points) * 1.2 + 1)
        axes.set_title(title)
        axes.set_xlabel("upload day (UTC)")
        axes.set_ylabel("images")
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=10))  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
        axes.grid(True, alpha=0.3)
        if counts:
            axes.legend(loc="upper left", fontsize="small")
        figure.autofmt_xdate()
        with replaced(Path(path)) as temporary:  # the format from the name asked for, not the temporary's
            figure.savefig(temporary, format=Path(path).suffix.lstrip(".").lower() or None)
        low, high = axes.get_xlim()
        first_day = mdates.num2date(low).date()  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
        last_day = mdates.num2date(high).date()  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
        return {"x_range": (first_day, last_day), "points": drawn, "sizes": sizes}
    finally:
        plt.close(figure)


class Histogram(TypedDict):
    edges: list[float]  # the bins' edges, 0 to 1
    counts: dict[str, list[int]]  # name -> records per bin


HISTOGRAM_BINS = 20


def score_histogram(
    scores: dict[str, list[float]], path: Path, what: str = "score", bins: int = HISTOGRAM_BINS
) -> Histogram:
    """Draw the distribution of scores (0 to 1, `bins` equal bins) per series (a label or a decision),
    as outlined steps so overlapping series stay readable, with each series' p5, p50 and p95 marked
    on it. `what` names the score on the axis. Returns the bins and the counts drawn."""
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spotter.results.stats import PERCENTILES, percentile

    edges = [i / bins for i in range(bins + 1)]
    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        counted: dict[str, list[int]] = {}
        names = sorted(scores, key=lambda n: (-len(scores[n]), n))
        for name in names:
            values = scores[name]
            per_bin = [0] * bins
            for value in values:
                per_bin[min(bins - 1, max(0, int(value * bins)))] += 1  # 1.0 falls in the last bin
            counted[name] = per_bin
            ordered = sorted(values)
            marks = [percentile(ordered, q) for q in PERCENTILES] if ordered else []
            text = ", ".join(f"p{q} {v:.3f}" for q, v in zip(PERCENTILES, marks))
            steps = axes.stairs(per_bin, edges, linewidth=1.6, label=f"{name} ({len(values)}; {text})")
            for value in marks:
                axes.axvline(value, color=steps.get_edgecolor(), linestyle=":", linewidth=1)
        axes.set_xlim(0, 1)
        axes.set_title(f"Distribution of the {what}")
        axes.set_xlabel(what)
        axes.set_ylabel("records")
        axes.grid(True, alpha=0.3)
        if counted:
            axes.legend(loc="upper left", fontsize="small")
        with replaced(Path(path)) as temporary:
            figure.savefig(temporary, format=Path(path).suffix.lstrip(".").lower() or None)
        return {"edges": edges, "counts": counted}
    finally:
        plt.close(figure)
