"""`spotter query`: filter the predictions table on its indexes; print or save the result."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.ports import PredictionQueries
from spotter.records import normalise_time
from spotter.results.names import stored_names
from spotter.results.query import PredictionQuery, QueryError, all_pages, parse_bbox
from spotter.results.tabular import FORMATS, write
from spotter.results.versions import chosen_model, is_all, spanned


def _time(value: str) -> str:
    normalised = normalise_time(value)
    if normalised is None:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date or time (2026-11-01 or 2026-11-01T08:00:00Z): {value!r}"
        )
    return normalised


def _bbox(value: str) -> tuple[float, float, float, float]:
    try:
        return parse_bbox(value)
    except QueryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _score(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number between 0 and 1, got {value!r}") from None


def _limit(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of records, 1 or more (leave it out for all), got {value!r}")
    return int(value)


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The filters `spotter query` and `spotter stats` share."""
    parser.add_argument("--label", help="top label (matched without regard to case)")
    parser.add_argument("--source", help="drone/camera name, or 'web' for page uploads")
    parser.add_argument(
        "--batch", help="a web upload batch; with --source DRONE, that drone's folder (drones/DRONE/FOLDER/)"
    )
    parser.add_argument("--status", choices=("ok", "rejected", "refused"))
    parser.add_argument("--since", type=_time, help="uploaded at or after (ISO 8601 date or time, UTC if no offset)")
    parser.add_argument("--until", type=_time, help="uploaded before")
    parser.add_argument("--captured-since", type=_time, help="EXIF capture time at or after")
    parser.add_argument("--captured-until", type=_time, help="EXIF capture time before")
    parser.add_argument("--min-score", type=_score)
    parser.add_argument("--max-score", type=_score)
    parser.add_argument(
        "--bbox",
        type=_bbox,
        help="SOUTH,WEST,NORTH,EAST in degrees (GPS from EXIF), e.g. --bbox -33.95,151.10,-33.80,151.30",
    )
    parser.add_argument(
        "--model",
        type=model_version,
        help="this model version (name@version), or 'all' for every version; default: the one the stack serves "
        "(known for the local stack and a --stack; elsewhere every version, and a note says when the answer spans several)",
    )


def model_version(value: str) -> str:
    """--model's value: a version (name@version, or a short form the reader resolves) or `all`; never empty."""
    if not value.strip():
        raise argparse.ArgumentTypeError("give a model version (name@version) or all, not an empty name")
    return value.strip()


def query_from_args(args: argparse.Namespace, limit: int = 1000) -> PredictionQuery:
    return PredictionQuery(
        batch=args.batch,  # model: `all` reads every version (None); `with_model_rule` fills in the default
        source=args.source,
        label=args.label,
        status=args.status,
        since=args.since,
        until=args.until,
        captured_since=args.captured_since,
        captured_until=args.captured_until,
        min_score=args.min_score,
        max_score=args.max_score,
        bbox=args.bbox,
        model=None if is_all(args.model) else args.model,
        limit=limit,
    )


def with_stored_names(query: PredictionQuery, queries: PredictionQueries, command: str) -> PredictionQuery:
    """Label, source and model as the table spells them (a note on stderr when the case differed);
    a QueryError listing the known names when there is no such one."""
    query, notes = stored_names(query, queries)
    for note in notes:
        print(f"spotter {command}: {note}", file=sys.stderr)
    return query


def with_model_rule(
    query: PredictionQuery, args: argparse.Namespace, served: str | None, command: str
) -> PredictionQuery:
    """`query` reading the model version `spotter.results.versions.chosen_model` picks: the one named
    (`--model`, already spelt as stored), every one (`--model all`), or else the one the stack serves
    (`served`, said on stderr). A model the stack serves is not looked up, as in the API."""
    model, note = chosen_model(query.model or args.model, served)
    if note:
        print(f"spotter {command}: {note}", file=sys.stderr)
    return query.replace(model=model)


def say_spanned(models: Iterable[str | None], command: str, by_model: bool = False, served: str | None = None) -> None:
    """A note on stderr when what was read spans model versions (`spotter.results.versions.spanned`),
    or, when the served model was read by default (`served`), when none of its records matched."""
    models = list(models)
    note = spanned(models, by_model)
    if not models and served:
        note = (
            f"no record of {served} (the one served now) matches these filters; other model versions' "
            "records are not read unless asked (--model all)"
        )
    if note:
        print(f"spotter {command}: {note}", file=sys.stderr)


STDOUT = "-"


def write_rows_to(
    output: Path | None, columns: list[str], values: Sequence[tuple[Any, ...]], fmt: str, excel: bool
) -> None:
    """Rows (stats, compare) to standard output, or whole to the file `output` (`-` is standard
    output); a byte order mark first with `excel`. OSError when the file cannot be written."""
    from spotter.files import replaced
    from spotter.results.rows_output import write_rows
    from spotter.results.tabular import EXCEL_BOM

    prefix = EXCEL_BOM if excel else ""
    if output is None or str(output) == STDOUT:
        sys.stdout.write(prefix)
        write_rows(columns, values, fmt, sys.stdout, excel=excel)
        return
    with replaced(output) as temporary, open(temporary, "w", encoding="utf-8", newline="") as stream:
        stream.write(prefix)
        write_rows(columns, values, fmt, stream, excel=excel)


def check_output(output: Path | None, fmt: str | None = None, excel: bool = False) -> None:
    """A usage error (one line, exit 2) for an --output that cannot be written; `-` is standard output."""
    if excel and fmt != "csv":
        raise QueryError("--excel goes with --format csv")
    if output is None:
        return
    if str(output) == STDOUT:
        if fmt == "parquet":
            raise QueryError("Parquet is binary and does not go to standard output: give --output FILE.parquet")
        return
    if output.is_symlink():  # written through, it would replace what the link points at
        raise QueryError(f"cannot write {output}: it is a symbolic link, give the file itself")
    if output.is_dir():
        raise QueryError(f"cannot write {output}: it is a folder, give a file name")
    if output.exists() and not output.is_file():  # the rename would replace a device or FIFO with a file
        raise QueryError(
            f"cannot write {output}: it is not a regular file (a device, FIFO or socket), give a file name "
            "or leave out --output for standard output"
        )
    if output.exists() and not output.stat().st_mode & 0o222:  # the rename would replace it even so
        raise QueryError(f"cannot write {output}: it is read-only; make it writable, or give another file name")
    if not output.parent.is_dir():
        raise QueryError(f"cannot write {output}: no folder {output.parent}")


def add_excel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--excel",
        action="store_true",
        help="CSV for Excel: begin with a UTF-8 byte order mark, which Excel needs to read "
        "non-ASCII text as UTF-8 (other CSV readers may not expect it)",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("query", help="query predictions by label, source, batch, time, score, place")
    add_filter_arguments(parser)
    parser.add_argument("--limit", type=_limit, help="at most this many records (default: all)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", type=Path, help="write to a file (required for parquet; - is standard output)")
    add_excel_argument(parser)
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries

    try:
        target = resolve(args)
        require(target, "table")
        check_output(args.output, args.format, args.excel)
        if args.format == "parquet" and args.output is None:
            raise QueryError("--output FILE is required for parquet")
        queries = DynamoPredictionQueries(resource("dynamodb").Table(target.table))
        query = with_stored_names(query_from_args(args, limit=min(1000, args.limit or 1000)), queries, "query")
        query = with_model_rule(query, args, target.model, "query")
    except (TargetError, QueryError, ValueError) as exc:
        print(f"spotter query: {exc}", file=sys.stderr)
        return 2
    records = []
    for page in all_pages(queries.query, query):
        records += page
        if args.limit and len(records) >= args.limit:
            break
    if args.limit:
        records = records[: args.limit]
    say_spanned((r.model for r in records), "query", served=None if args.model else target.model)
    try:
        write(records, args.format, args.output, excel=args.excel)
    except BrokenPipeError:
        raise  # a reader such as `head` stopped early: main() ends quietly, as Unix tools do
    except OSError as exc:
        print(f"spotter query: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.output and str(args.output) != STDOUT:
        print(f"wrote {len(records)} records to {args.output}", file=sys.stderr)
    return 0
