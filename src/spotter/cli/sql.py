"""`spotter sql "SELECT ..."`: DuckDB SQL over the table `predictions` (the export's typed columns).

The table is first exported (parallel scan, written as it is read) to day-partitioned Parquet files
in a scratch folder, the layout of the Athena copy; DuckDB then queries the files and spills to disk
past its memory limit. `--data DIR` queries such a folder instead (e.g. the copy, synced from S3).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ..rows_output import ROW_FORMATS, write_rows
from .target import TargetError, add_target_arguments, require, resolve


def register(subparsers) -> None:
    parser = subparsers.add_parser("sql", help="run a read-only DuckDB SELECT over the table `predictions`")
    parser.add_argument("query", metavar="SQL", help="one SELECT, e.g. \"SELECT label, count(*) FROM predictions GROUP BY label\"")
    parser.add_argument("--format", choices=ROW_FORMATS, default="table")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="query this folder of upload_day=YYYY-MM-DD/*.parquet files instead of exporting the table")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="export into DIR and keep it (reuse with --data DIR)")
    parser.add_argument("--memory-limit", help="DuckDB's memory limit, e.g. 2GB (past it, it spills to disk)")
    parser.add_argument("--segments", type=int, default=4, help="parallel scan segments for the export (default 4)")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def _fail(message: str, code: int = 2) -> int:
    print(f"spotter sql: {message}", file=sys.stderr)
    return code


def run(args) -> int:
    try:
        from ..sql import SqlError, check, connect
        from ..sql import run as run_sql
    except ImportError:
        return _fail("needs duckdb and pyarrow: pip install duckdb pyarrow")
    try:
        check(args.query)
    except SqlError as exc:
        return _fail(str(exc))
    if args.data is not None and not args.data.is_dir():
        return _fail(f"no folder {args.data}")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        return _fail(f"{args.keep} is not empty: give a new folder (or query it with --data)")
    with tempfile.TemporaryDirectory(prefix="spotter-sql-") as scratch:
        data = args.data
        if data is None:
            data = args.keep or Path(scratch) / "predictions"
            code = _export(args, data)
            if code:
                return code
        try:
            con = connect(data, Path(scratch) / "spill", args.memory_limit)
            columns, rows = run_sql(con, args.query)
        except SqlError as exc:
            return _fail(str(exc))
        write_rows(columns, rows, args.format, sys.stdout)
    return 0


def _export(args, folder: Path) -> int:
    from ..adapters.aws import resource
    from ..adapters.dynamodb import DynamoPredictionQueries
    from ..parquet_copy import LocalLayout

    try:
        target = resolve(args)
        require(target, "table")
    except TargetError as exc:
        return _fail(str(exc))
    folder.mkdir(parents=True, exist_ok=True)
    layout = LocalLayout(folder)
    for page in DynamoPredictionQueries(resource("dynamodb").Table(target.table)).scan_pages(max(1, args.segments)):
        layout.add(page)
    count = layout.close()
    print(f"spotter sql: {count} records from {target.table}", file=sys.stderr)
    return 0
