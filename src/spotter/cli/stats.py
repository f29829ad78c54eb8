"""`spotter stats`: counts and score summaries grouped by label, source, batch, status, model, day."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotter.cli.query import (
    STDOUT,
    add_excel_argument,
    add_filter_arguments,
    check_output,
    query_from_args,
    with_stored_names,
)
from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.files import replaced
from spotter.results.query import QueryError
from spotter.results.rows_output import ROW_FORMATS, write_rows
from spotter.results.stats import DIMENSIONS, SUMMARY_COLUMNS, matching_records, parse_dimensions, scans, summarise
from spotter.results.tabular import EXCEL_BOM


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
        check_output(args.plot)
        if args.plot is not None and args.plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise QueryError(f"--plot writes .png, .svg or .pdf, got {args.plot.name!r}")
        queries = DynamoPredictionQueries(resource("dynamodb").Table(target.table))
        query = with_stored_names(query_from_args(args), queries, "stats")
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
    rows = summarise(records, by)
    columns = list(by) + SUMMARY_COLUMNS
    values = [tuple(r[c] for c in columns) for r in rows]
    prefix = EXCEL_BOM if args.excel else ""
    try:
        if args.output is None or str(args.output) == STDOUT:
            sys.stdout.write(prefix)
            write_rows(columns, values, args.format, sys.stdout)
        else:
            with replaced(args.output) as temporary, open(temporary, "w", encoding="utf-8", newline="") as stream:
                stream.write(prefix)
                write_rows(columns, values, args.format, stream)
        if args.plot is not None:
            from spotter.results.plot import counts_per_day, plot_counts

            plot_counts(counts_per_day(records), args.plot)
            print(f"drew {args.plot}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"spotter stats: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    return 0
