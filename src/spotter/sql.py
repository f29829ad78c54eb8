"""DuckDB SQL, read only, over the Parquet layout (spotter.parquet_copy) as a table named `predictions`.

DuckDB reads the files as it needs them and spills to `temp` past its memory limit, so a table
larger than memory can be queried; answers are streamed out in chunks (`stream`), never held whole.
Only SELECT (and EXPLAIN) statements run; file access is limited to the data folder and the spill
folder, no extension is installed or loaded, and the configuration is locked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .parquet_copy import PARTITION

if TYPE_CHECKING:  # imported where used, as the CLI needs it only for `spotter sql`
    import duckdb

Row = tuple[Any, ...]  # one answer row: whatever SQL types the statement selects

TABLE = "predictions"
ALLOWED = {"SELECT", "EXPLAIN"}
CHUNK_ROWS = 2048
# What DuckDB's memory_limit takes, and nothing else: the value reaches DuckDB as a config value,
# never as SQL text, and is checked first so a mistake is one line.
MEMORY_LIMIT = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
_EXTENSION = re.compile(r"exists in the (\w+) extension")


class SqlError(ValueError):
    """A query that cannot run: one line for the user."""


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split("\n")[:1]).strip()
    return text or type(exc).__name__


def _message(exc: Exception) -> str:
    """DuckDB's error as one line; a function from an extension is named as such (never installed)."""
    extension = _EXTENSION.search(str(exc))
    if extension:
        return (
            f"{_one_line(exc).split(' is not in the catalog')[0]} needs the DuckDB extension "
            f"{extension.group(1)!r}: spotter sql installs and loads no extensions (only the table {TABLE})"
        )
    return _one_line(exc)


def check_memory_limit(value: str) -> str:
    if not MEMORY_LIMIT.match(value or ""):
        raise SqlError(
            f"memory limit must be a number and a unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 2GB; got {value!r}"
        )
    return value


def parquet_files(data: Path) -> list[Path]:
    return sorted(Path(data).glob(f"{PARTITION}=*/*.parquet"))


def connect(data: Path, temp: Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    import duckdb

    data, temp = Path(data).resolve(), Path(temp).resolve()
    temp.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "temp_directory": str(temp),
    }
    if memory_limit:
        config["memory_limit"] = check_memory_limit(memory_limit)
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as exc:
        raise SqlError(_one_line(exc)) from None
    con.execute("SET TimeZone = 'UTC'")
    if parquet_files(data):
        glob = str(data / f"{PARTITION}=*" / "*.parquet")
        con.execute(
            f"CREATE VIEW {TABLE} AS SELECT * FROM read_parquet({_literal(glob)}, hive_partitioning = true, "
            f"hive_types = {{'{PARTITION}': VARCHAR}}, union_by_name = true)"
        )
    else:  # an empty table still has its columns
        con.execute(f"CREATE VIEW {TABLE} AS SELECT * FROM ({_empty_select()})")
    con.execute(f"SET allowed_directories = [{_literal(str(data) + '/')}, {_literal(str(temp) + '/')}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty_select() -> str:
    from .export import COLUMNS

    types = {
        "string": "VARCHAR",
        "float": "DOUBLE",
        "int": "BIGINT",
        "timestamp": "TIMESTAMPTZ",
        "local_timestamp": "TIMESTAMP",
        "topk": "STRUCT(label VARCHAR, score DOUBLE)[]",
    }
    columns = ", ".join(f"CAST(NULL AS {types[kind]}) AS {name}" for name, kind in COLUMNS if name != PARTITION)
    return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS {PARTITION} WHERE false"


def check(text: str, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """Refuse anything but one SELECT or EXPLAIN, before any data is read; the statement's kind."""
    import duckdb

    try:
        statements = con.extract_statements(text) if con is not None else duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise SqlError(_one_line(exc)) from None
    if len(statements) != 1:
        raise SqlError(f"give one statement, got {len(statements)}")
    kind: str = statements[0].type.name
    if kind not in ALLOWED:
        words = statements[0].query.split()
        if kind == "LOAD" and words and words[0].upper() in ("INSTALL", "FORCE"):
            kind = "INSTALL"  # DuckDB files INSTALL under LOAD
        raise SqlError(f"read only: {kind} is not allowed (SELECT or EXPLAIN over the table {TABLE})")
    return kind


def stream(con: duckdb.DuckDBPyConnection, text: str, chunk: int = CHUNK_ROWS) -> tuple[list[str], Iterator[list[Row]]]:
    """(column names, chunks of rows) of one read-only statement: DuckDB streams the answer through
    Arrow (time zones without pytz), `chunk` rows at a time, so memory stays bounded whatever its size."""
    import duckdb
    import pyarrow as pa

    check(text, con)
    try:
        reader = con.sql(text).to_arrow_reader(chunk)
    except duckdb.Error as exc:
        raise SqlError(_message(exc)) from None
    columns = list(reader.schema.names)

    def chunks() -> Iterator[list[Row]]:
        try:
            for batch in reader:
                yield list(zip(*(column.to_pylist() for column in batch.columns))) if batch.num_columns else []
        except (duckdb.Error, pa.ArrowException, OSError) as exc:  # met mid-stream (Arrow hands it on as OSError)
            raise SqlError(_message(exc)) from None

    return columns, chunks()


def run(con: duckdb.DuckDBPyConnection, text: str) -> tuple[list[str], list[Row]]:
    """(column names, rows) of one read-only statement, all in memory: for small answers and tests."""
    columns, chunks = stream(con, text)
    return columns, [row for rows in chunks for row in rows]
