"""`spotter compare OLD NEW`: two model versions side by side on the same images (after a reprocess)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotter.cli.query import add_excel_argument, add_filter_arguments, check_output, with_stored_names, write_rows_to
from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.results.compare import COLUMNS, compare, summary_line
from spotter.results.query import QueryError
from spotter.results.rows_output import ROW_FORMATS
from spotter.results.stats import matching_records


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="two model versions on the same images: agreement, label changes, score shifts",
        description="Pairs each image's record from OLD with its record from NEW (the filters choose the "
        "images, read under each version) and prints one row per (OLD outcome, NEW outcome): how many "
        "images, and how the score NEW gives OLD's label differs from OLD's. The outcome is the card's "
        "decision when a record has one, else its label; a summary line goes to stderr.",
    )
    parser.add_argument("old", metavar="OLD", help="a model version (name@version, or a short form of it)")
    parser.add_argument("new", metavar="NEW", help="the other model version")
    add_filter_arguments(parser)
    parser.add_argument("--format", choices=ROW_FORMATS, default="table")
    parser.add_argument("--output", type=Path, help="write to a file instead of the terminal (- is the terminal)")
    add_excel_argument(parser)
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries
    from spotter.cli.query import query_from_args

    try:
        if args.model:
            raise QueryError("compare takes its two model versions as OLD NEW, not --model")
        target = resolve(args)
        require(target, "table")
        check_output(args.output, args.format, args.excel)
        queries = DynamoPredictionQueries(resource("dynamodb").Table(target.table))
        base = query_from_args(args)
        old = with_stored_names(base.replace(model=args.old), queries, "compare")
        new = with_stored_names(base.replace(model=args.new), queries, "compare")
        if old.model == new.model:
            raise QueryError(f"OLD and NEW are the same model version: {old.model}")
    except (TargetError, QueryError, ValueError) as exc:
        print(f"spotter compare: {exc}", file=sys.stderr)
        return 2
    if old.model is None or new.model is None:  # parse_args requires both; a guard, not a user's error
        raise RuntimeError("spotter compare needs two model versions")
    result = compare(matching_records(queries.query, old), matching_records(queries.query, new))
    values = [tuple(row[c] for c in COLUMNS) for row in result.rows]
    try:
        write_rows_to(args.output, COLUMNS, values, args.format, args.excel)
    except OSError as exc:
        print(f"spotter compare: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"spotter compare: {summary_line(result, old.model, new.model)}", file=sys.stderr)
    return 0
