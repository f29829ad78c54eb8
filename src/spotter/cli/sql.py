"""`spotter sql "SELECT ..."`: DuckDB SQL over the table `predictions` (the export's typed columns), and
`detections`, one row per box of an object detector's records (made from the predictions' own column).

The table is exported to day-partitioned Parquet files, the layout of the Athena copy, kept between
runs (spotter.results.sql_cache): each run rewrites only the upload days whose records changed since,
found by a scan that reads back each record's key and times. `--no-cache` exports the whole table
afresh (parallel scan, written as it is read) to a scratch folder, as `--keep DIR` does to DIR.
DuckDB then queries the files and spills to disk past its memory limit. `--data DIR` queries such a
folder instead (e.g. the copy, synced from S3).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from spotter.cli.query import add_excel_argument, model_version
from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.results.rows_output import ROW_FORMATS, write_row_chunks
from spotter.results.tabular import EXCEL_BOM

if TYPE_CHECKING:
    from spotter.adapters.dynamodb import DynamoPredictionQueries
    from spotter.adapters.dynamodb_stream import TableStream
    from spotter.results.stream_position import StreamPosition


def _memory_limit(value: str) -> str:
    from spotter.results.sql import MEMORY_LIMIT

    if not MEMORY_LIMIT.match(value):
        raise argparse.ArgumentTypeError(
            f"a number and a unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 2GB; got {value!r}"
        )
    return value


def _max_rows(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of rows, 1 or more, got {value!r}")
    return int(value)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sql", help="run a read-only DuckDB SELECT over the tables `predictions` and `detections` (a detector's boxes)"
    )
    parser.add_argument(
        "query", metavar="SQL", help='one SELECT, e.g. "SELECT label, count(*) FROM predictions GROUP BY label"'
    )
    parser.add_argument("--format", choices=ROW_FORMATS, default="table")
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="query this folder of upload_day=YYYY-MM-DD/*.parquet files instead of exporting the table",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="export into DIR and keep it (reuse with --data DIR)")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="export the whole table afresh instead of updating the kept export (the days that changed)",
    )
    parser.add_argument(
        "--memory-limit",
        type=_memory_limit,
        help="DuckDB's memory limit, e.g. 2GB or 512MiB (past it, it spills to disk)",
    )
    parser.add_argument(
        "--max-rows",
        type=_max_rows,
        metavar="N",
        help="print at most N rows (default: all, streamed as DuckDB produces them)",
    )
    add_excel_argument(parser)
    parser.add_argument(
        "--model",
        type=model_version,
        help="the tables `predictions` and `detections` hold this model version (name@version), or 'all' for every version; "
        "default: the one the stack serves (known for the local stack and a --stack; elsewhere, and with --data, every version, "
        "and a note says when they are several)",
    )
    parser.add_argument("--segments", type=int, default=4, help="parallel scan segments for the export (default 4)")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def _model(args: argparse.Namespace, data: Path) -> str | None:
    """The model version the table `predictions` holds (None: every one), by the readers' one rule
    (`spotter.results.versions`), with a note on stderr saying which, or that the table spans several.
    A named one is matched against the data's models as `spotter query` matches it (case, short form)."""
    from spotter.results.names import resolve_name
    from spotter.results.query import QueryError
    from spotter.results.sql import SqlError, model_counts
    from spotter.results.versions import chosen_model, is_all, spanned_counts

    served = None
    if args.data is None and not args.model:
        try:
            served = resolve(args).model
        except TargetError:  # the export has said so already
            served = None
    counts = model_counts(data)
    asked = args.model
    if asked and not is_all(asked):
        try:
            asked, note = resolve_name(
                "model", asked, lambda _field, value: value in counts, lambda _field: (sorted(counts), True)
            )
        except QueryError as exc:
            raise SqlError(str(exc).replace("in the table", "in the data")) from None
        if note:
            print(f"spotter sql: {note}", file=sys.stderr)
    model, note = chosen_model(asked, served)
    if note:
        print(f"spotter sql: `predictions` holds {note}", file=sys.stderr)
    elif model is None and (note := spanned_counts(counts)):
        print(f"spotter sql: {note.replace('these records span', 'the table `predictions` spans')}", file=sys.stderr)
    return model


def _fail(message: str, code: int = 2) -> int:
    print(f"spotter sql: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    try:
        from spotter.results.sql import SqlError, check, connect, parquet_files, stream
    except ImportError:
        return _fail("needs duckdb and pyarrow, which come with the [analyst] extra: pip install 'spotter[analyst]'")
    if args.excel and args.format != "csv":
        return _fail("--excel goes with --format csv")
    try:
        kind = check(args.query)
    except SqlError as exc:
        return _fail(str(exc))
    if args.data is not None:
        if not args.data.is_dir():
            return _fail(f"no folder {args.data}")
        try:
            found = parquet_files(args.data)
        except SqlError as exc:
            return _fail(str(exc))
        if not found:
            return _fail(
                f"no Parquet files in {args.data} (expected upload_day=YYYY-MM-DD/*.parquet, "
                "as --keep or the Athena copy writes them)"
            )
    if args.keep is not None and args.keep.exists():
        if not args.keep.is_dir():
            return _fail(f"--keep {args.keep} is a file: give a new folder")
        if any(args.keep.iterdir()):
            return _fail(f"{args.keep} is not empty: give a new folder (or query it with --data)")
    with tempfile.TemporaryDirectory(prefix="spotter-sql-") as scratch, contextlib.ExitStack() as held:
        data = args.data
        if data is None:
            if args.keep is None and not args.no_cache:
                data, code = _cached(args, held)
            else:
                data = args.keep or Path(scratch) / "predictions"
                code = _export(args, data)
            if code:
                return code
        try:
            con = connect(data, Path(scratch) / "spill", args.memory_limit, _model(args, data))
            columns, chunks = stream(con, args.query)
            if kind == "EXPLAIN" and args.format != "json":  # a plan is text: print it as text
                for rows in chunks:
                    for row in rows:
                        sys.stdout.write(str(row[-1]).rstrip("\n") + "\n")
                return 0
            if args.excel:
                sys.stdout.write(EXCEL_BOM)
            count, more = write_row_chunks(
                columns, chunks, args.format, sys.stdout, max_rows=args.max_rows, excel=args.excel
            )
        except SqlError as exc:
            return _fail(str(exc))
        except KeyboardInterrupt:  # Ctrl-C: the query was interrupted as it was heard (spotter.results.sql.stream)
            print("spotter sql: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader stopped early (`| head`): not an error, nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        if more:
            print(
                f"spotter sql: stopped after {count} rows (--max-rows {args.max_rows}); more rows match",
                file=sys.stderr,
            )
    return 0


def _export(args: argparse.Namespace, folder: Path) -> int:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries
    from spotter.results.parquet_copy import LocalLayout

    try:
        target = resolve(args)
        require(target, "table")
    except TargetError as exc:
        return _fail(str(exc))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"cannot make {folder}: {exc.strerror or exc}")
    layout = LocalLayout(folder)
    for page in DynamoPredictionQueries(resource("dynamodb").Table(target.table)).scan_pages(max(1, args.segments)):
        layout.add(page)
    count = layout.close()
    print(f"spotter sql: {count} records from {target.table}", file=sys.stderr)
    return 0


def _cached(args: argparse.Namespace, held: contextlib.ExitStack) -> tuple[Path, int]:
    """The kept export, brought up to date day by day and locked (in `held`) until the query is done."""
    from dataclasses import replace

    from botocore.exceptions import BotoCoreError, ClientError

    from spotter.adapters.aws import low_level_client
    from spotter.adapters.dynamodb_stream import TableStream
    from spotter.config import sql_cache_dir
    from spotter.results.sql_cache import (
        cache_root,
        follow,
        has_state,
        kept_position,
        locked,
        rebuild,
        refresh,
    )
    from spotter.results.stream_position import StreamGap

    try:
        target = resolve(args)
        require(target, "table")
    except TargetError as exc:
        return Path(), _fail(str(exc))
    (table_name,) = require(target, "table")
    # botocore clients of one session: a repeat run that the stream answers never loads boto3
    dynamodb = low_level_client("dynamodb")
    root = cache_root(sql_cache_dir(), table_name, dynamodb.meta.endpoint_url, dynamodb.meta.region_name)
    try:
        held.enter_context(locked(root))
    except OSError as exc:
        return root, _fail(f"cannot use the cache {root}: {exc.strerror or exc}")
    segments = max(1, args.segments)
    try:
        stream = TableStream.of_table(dynamodb, table_name)
    except (ClientError, BotoCoreError):
        stream = None  # no DescribeTable: the scan below says what is wrong, if anything
    position, how = kept_position(root) if has_state(root) else None, ""
    done = None
    if stream is not None and position is not None:
        try:
            done, read = follow(root, stream.since, position)
            how = f"{read} changes read from the table's stream"
        except StreamGap as gap:
            how = f"every day checked by a scan: {gap}"
    if done is None:
        position = _stream_position(stream)  # before the scan: what changes during it is folded in after
        queries = _queries(table_name)
        if not has_state(root):  # the first run: one scan, as an export
            done = rebuild(root, queries.scan_pages(segments))
            how = how or "the whole table read"
        else:
            states = queries.day_states(segments)
            done = refresh(
                root,
                {day: state.digest for day, state in states.items()},
                lambda day: states[day].keys,
                queries.records_of,
                lambda: queries.scan_pages(segments),
            )
            how = how or "every day checked by a scan"
        if stream is not None and position is not None:
            with contextlib.suppress(StreamGap):  # the next run checks every day again
                done = replace(done, records=follow(root, stream.since, position)[0].records)
    print(
        f"spotter sql: {done.records} records from {target.table} "
        f"({done.written} upload days read, {done.kept} unchanged since the last run; {how}; {root})",
        file=sys.stderr,
    )
    return root, 0


def _stream_position(stream: TableStream | None) -> StreamPosition | None:
    from spotter.results.stream_position import StreamGap

    if stream is None:
        return None
    try:
        return stream.position()
    except StreamGap:
        return None


def _queries(table_name: str) -> DynamoPredictionQueries:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries

    return DynamoPredictionQueries(resource("dynamodb").Table(table_name))
