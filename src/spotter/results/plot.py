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


MARKERS = "osD^vP*Xh<>"
PAD_DAYS = 3  # a short span still shows as days, not as a multi-year axis


def plot_counts(counts: dict[str, dict[str, int]], path: Path, title: str = "Images per day by label") -> Drawn:
    """Draw counts per upload day, one series per name: each with its own marker, shifted a little
    sideways from the others so equal counts on a day stay visible, and labelled with its count when
    there are few days. The axis spans at least the days drawn plus PAD_DAYS either side. Returns
    what was drawn: {"x_range": (first, last) dates of the axis, "points": {name: [(x, y), ...]}}."""
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
        spread = 0.5  # of a day, shared by the series
        step = spread / max(1, len(names) - 1) if len(names) > 1 else 0.0
        drawn: dict[str, list[tuple[float, int]]] = {}
        for n, name in enumerate(names):
            shift = timedelta(days=(n * step - spread / 2) if len(names) > 1 else 0.0)
            xs: list[float] = [
                mdates.date2num(date.fromisoformat(d)) + shift.total_seconds() / 86400  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
                for d in days
            ]
            ys = [counts[name].get(d, 0) for d in days]
            axes.plot(
                xs,
                ys,
                marker=MARKERS[n % len(MARKERS)],
                markersize=7,
                linewidth=1.2,
                linestyle="-" if len(days) > 1 else "none",
                label=f"{name} ({sum(counts[name].values())})",
            )
            if len(days) <= 14:
                for x, y in zip(xs, ys):
                    axes.annotate(
                        str(y), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize="x-small"
                    )
            drawn[name] = list(zip(xs, ys))
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
        return {"x_range": (first_day, last_day), "points": drawn}
    finally:
        plt.close(figure)
