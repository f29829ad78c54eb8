"""`spotter stats`: counts and score summaries grouped by label, source, batch, status, model, day
(an object detector's records: objects per label, and an `objects` column; spotter.results.stats)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotter.cli.query import (
    add_excel_argument,
    add_filter_arguments,
    check_output,
    query_from_args,
    say_spanned,
    with_model_rule,
    with_stored_names,
    write_rows_to,
)
from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.results.query import QueryError
from spotter.results.rows_output import ROW_FORMATS
from spotter.results.stats import (
    DIMENSIONS,
    counting_note,
    distribution_score,
    matching_records,
    parse_dimensions,
    scans,
    score_basis,
    summarise,
    summary_columns,
)

STATS_PAGE = 1000  # records per read: matching_records asks for pages of 1,000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "stats", help="count predictions per label, source, batch, status, decision, model or day"
    )
    parser.add_argument(
        "--by", default="label", help=f"comma-separated, any of {', '.join(DIMENSIONS)} (default label)"
    )
    add_filter_arguments(parser)
    parser.add_argument("--format", choices=ROW_FORMATS, default="table")
    parser.add_argument("--output", type=Path, help="write to a file instead of the terminal (- is the terminal)")
    add_excel_argument(parser)
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw images per upload day per label")
    parser.add_argument(
        "--histogram",
        type=Path,
        metavar="FILE.png",
        help="also draw the score's distribution per label (per decision when --by names decision)",
    )
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries

    try:
        by = parse_dimensions(args.by)
        target = resolve(args)
        require(target, "table")
        check_output(args.output, args.format, args.excel)
        for flag, picture in (("--plot", args.plot), ("--histogram", args.histogram)):
            check_output(picture)
            if picture is not None and picture.suffix.lower() not in (".png", ".svg", ".pdf"):
                raise QueryError(f"{flag} writes .png, .svg or .pdf, got {picture.name!r}")
        # pages of up to 1,000: an index read costs a query per page (and the records' BatchGets), so
        # small pages made an indexed count slower than a scan of the whole table on the local stack
        queries = DynamoPredictionQueries(resource("dynamodb").Table(target.table), page_size=STATS_PAGE)
        query = with_stored_names(query_from_args(args), queries, "stats")
        query = with_model_rule(query, args, target.model, "stats")
    except (TargetError, QueryError, ValueError) as exc:
        print(f"spotter stats: {exc}", file=sys.stderr)
        return 2
    if scans(query):
        print(
            "spotter stats: scanning the whole table (no --batch, --source, --label or --since within 92 days "
            "narrows it to an index)",
            file=sys.stderr,
        )
    records = list(matching_records(queries.query, query))
    say_spanned((r.model for r in records), "stats", "model" in by, None if args.model else target.model)
    basis = score_basis(records)
    rows = summarise(records, by, basis, label=query.label)
    if note := counting_note(rows, by):  # detectors' records grouped by label: `count` counts their objects
        print(f"spotter stats: {note}", file=sys.stderr)
    columns = summary_columns(rows, by, basis)
    values = [tuple(r[c] for c in columns) for r in rows]
    try:
        write_rows_to(args.output, columns, values, args.format, args.excel)
        if args.plot is not None:
            from spotter.results.plot import counts_per_day, plot_counts

            plot_counts(counts_per_day(records), args.plot)
            print(f"drew {args.plot}", file=sys.stderr)
        if args.histogram is not None:
            from spotter.results.plot import score_histogram

            series = "decision" if "decision" in by else "label"
            scores: dict[str, list[float]] = {}
            for record in records:
                value = distribution_score(record)
                if value is not None:
                    scores.setdefault(str(DIMENSIONS[series](record) or "(none)"), []).append(value)
            what = "top label's score" if basis == "top" else f"{basis} score"
            if basis == "positive_or_top":
                what = "positive label's score (top score without a decision)"
            score_histogram(scores, args.histogram, what)
            print(f"drew {args.histogram}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"spotter stats: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    return 0
