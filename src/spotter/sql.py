"""DuckDB SQL, read only, over the Parquet layout (spotter.parquet_copy) as a table named `predictions`.

DuckDB reads the files as it needs them and spills to `temp` past its memory limit, so a table
larger than memory can be queried. Only SELECT (and EXPLAIN) statements run; file access is limited
to the data folder and the spill folder, and the configuration is locked.
"""

from __future__ import annotations

from pathlib import Path

from .parquet_copy import PARTITION

TABLE = "predictions"
ALLOWED = {"SELECT", "EXPLAIN"}


class SqlError(ValueError):
    """A query that cannot run: one line for the user."""


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split("\n")[:1]).strip()
    return text or type(exc).__name__


def connect(data: Path, temp: Path, memory_limit: str | None = None):
    import duckdb

    data, temp = Path(data).resolve(), Path(temp).resolve()
    temp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET temp_directory = '{temp}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    files = sorted(data.glob(f"{PARTITION}=*/*.parquet"))
    if files:
        con.execute(f"CREATE VIEW {TABLE} AS SELECT * FROM read_parquet('{data}/{PARTITION}=*/*.parquet', "
                    f"hive_partitioning = true, hive_types = {{'{PARTITION}': VARCHAR}}, union_by_name = true)")
    else:  # an empty table still has its columns
        con.execute(f"CREATE VIEW {TABLE} AS SELECT * FROM ({_empty_select()})")
    con.execute(f"SET allowed_directories = ['{data}/', '{temp}/']")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _empty_select() -> str:
    from .export import COLUMNS

    types = {"string": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "timestamp": "TIMESTAMPTZ",
             "local_timestamp": "TIMESTAMP", "topk": "STRUCT(label VARCHAR, score DOUBLE)[]"}
    columns = ", ".join(f"CAST(NULL AS {types[kind]}) AS {name}" for name, kind in COLUMNS if name != PARTITION)
    return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS {PARTITION} WHERE false"


def check(text: str, con=None) -> None:
    """Refuse anything but one SELECT or EXPLAIN, before any data is read."""
    import duckdb

    try:
        statements = (con or duckdb).extract_statements(text)
    except duckdb.Error as exc:
        raise SqlError(_one_line(exc)) from None
    if len(statements) != 1:
        raise SqlError(f"give one statement, got {len(statements)}")
    kind = statements[0].type.name
    if kind not in ALLOWED:
        raise SqlError(f"read only: {kind} is not allowed (SELECT or EXPLAIN over the table {TABLE})")


def run(con, text: str) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one read-only statement."""
    import duckdb

    check(text, con)
    try:
        table = con.sql(text).to_arrow_table()  # through Arrow: time zones without pytz
    except duckdb.Error as exc:
        raise SqlError(_one_line(exc)) from None
    return table.column_names, list(zip(*(column.to_pylist() for column in table.columns)))
