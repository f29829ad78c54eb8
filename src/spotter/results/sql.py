"""DuckDB SQL, read only, over the Parquet layout (spotter.results.parquet_copy) as a table named `predictions`,
and beside it `detections`: one row per box of an object detector's records, unnested from the
predictions' `detections` column (the columns of the Athena copy's detections dataset).

DuckDB reads the files as it needs them and spills to `temp` past its memory limit, so a table
larger than memory can be queried; answers are streamed out in chunks (`stream`), never held whole.
Only a SELECT runs, or an EXPLAIN (ANALYZE) of one: DuckDB's own parser says what each statement
is, and an EXPLAIN is judged by the statement it wraps (EXPLAIN ANALYZE runs it). Behind that check,
in depth: the statement runs in a read-only transaction (no catalog writes), file access is limited
to the data folder's Parquet files, by name, and the spill folder (no new file beside the data), no
extension is installed or loaded, and the configuration is locked.
"""

from __future__ import annotations

import contextlib
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotter.results.parquet_copy import BOX_EDGES, DETECTION_COLUMNS, DETECTION_RECORD_COLUMNS, PARTITION

if TYPE_CHECKING:  # imported where used, as the CLI needs it only for `spotter sql`
    import duckdb

Row = tuple[Any, ...]  # one answer row: whatever SQL types the statement selects

TABLE = "predictions"
DETECTIONS_TABLE = "detections"  # a view over TABLE: one row per stored box
TABLES = f"{TABLE} and {DETECTIONS_TABLE}"
ALLOWED = {"SELECT"}  # and EXPLAIN, when what it wraps is a SELECT
CHUNK_ROWS = 2048
# What DuckDB's memory_limit takes, and nothing else: the value reaches DuckDB as a config value,
# never as SQL text, and is checked first so a mistake is one line.
MEMORY_LIMIT = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\Z", re.IGNORECASE)
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
            f"{extension.group(1)!r}: spotter sql installs and loads no extensions (only the tables {TABLES})"
        )
    return _one_line(exc)


def check_memory_limit(value: str) -> str:
    if not MEMORY_LIMIT.match(value or ""):
        raise SqlError(
            f"memory limit must be a number and a unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 2GB; got {value!r}"
        )
    return value


def parquet_files(data: Path) -> list[Path]:
    """The data folder's Parquet files, `upload_day=*/*.parquet`. SqlError for a link or anything but a
    regular file among them: DuckDB would follow a link out of the folder (to /etc/passwd) or wait on
    a FIFO for ever."""
    found = sorted(Path(data).glob(f"{PARTITION}=*/*.parquet"))
    for path in found:
        for part in (path.parent, path):
            if part.is_symlink():
                raise SqlError(f"{part} is a symbolic link: spotter sql reads only the data folder's own files")
        if not stat.S_ISREG(path.lstat().st_mode):
            raise SqlError(f"{path} is not a regular file (a FIFO, device or folder): not read")
    return found


def model_counts(data: Path) -> dict[str, int]:
    """Records per model version in the data's Parquet files (a read of the one column), for the
    readers' rule (`spotter.results.versions`) before the table `predictions` is made."""
    import duckdb

    files = [str(path.resolve()) for path in parquet_files(data)]
    if not files:
        return {}
    listed = ", ".join(_literal(name) for name in files)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        rows = con.execute(
            f"SELECT model, count(*) FROM read_parquet([{listed}], union_by_name = true) GROUP BY model"
        ).fetchall()
    except duckdb.Error as exc:
        raise SqlError(_one_line(exc)) from None
    finally:
        con.close()
    return {str(model): int(n) for model, n in rows if model is not None}


def connect(
    data: Path, temp: Path, memory_limit: str | None = None, model: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only connection with the table `predictions` over the data's Parquet files: the records of
    `model` only, or of every model version when None; and `detections`, their boxes (detections_view)."""
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
    files = [str(path.resolve()) for path in parquet_files(data)]
    if files:  # the files by name, not a glob: the only paths (besides the spill folder) DuckDB may open
        listed = ", ".join(_literal(name) for name in files)
        con.execute(
            f"CREATE VIEW {TABLE} AS SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
            f"hive_types = {{'{PARTITION}': VARCHAR}}, union_by_name = true)"
            + (f" WHERE model = {_literal(model)}" if model is not None else "")
        )
        con.execute(f"SET allowed_paths = [{listed}]")
    else:  # an empty table still has its columns
        con.execute(f"CREATE VIEW {TABLE} AS SELECT * FROM ({_empty_select()})")
    con.execute(detections_view(con))
    con.execute(f"SET allowed_directories = [{_literal(str(temp) + '/')}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    con.execute("BEGIN TRANSACTION READ ONLY")  # whatever slipped past check() cannot write the catalog
    return con


def detections_view(con: duckdb.DuckDBPyConnection) -> str:
    """The statement that makes `detections`: each box of `predictions` (so of its model version too) as
    a row of parquet_copy.DETECTION_COLUMNS, the box's edges from its `box` list. Data written before
    detectors were served has no `detections` column: the view is then empty, with its columns."""
    present = {row[0] for row in con.execute(f"DESCRIBE {TABLE}").fetchall()}
    box = {"label": "d.label", "score": "d.score", **{edge: f"d.box[{i}]" for i, edge in enumerate(BOX_EDGES, 1)}}
    record = {name: f"p.{name}" for name, _ in DETECTION_RECORD_COLUMNS} | {PARTITION: f"p.{PARTITION}"}
    if DETECTIONS_TABLE in present:
        selected = ", ".join(f"{record.get(name) or box[name]} AS {name}" for name, _ in DETECTION_COLUMNS)
        return (
            f"CREATE VIEW {DETECTIONS_TABLE} AS SELECT {selected} "
            f"FROM {TABLE} AS p, unnest(p.{DETECTIONS_TABLE}) AS boxes(d)"
        )
    types = {"string": "VARCHAR", "float": "DOUBLE", "timestamp": "TIMESTAMPTZ"}
    columns = ", ".join(f"CAST(NULL AS {types[kind]}) AS {name}" for name, kind in DETECTION_COLUMNS)
    return f"CREATE VIEW {DETECTIONS_TABLE} AS SELECT {columns} WHERE false"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty_select() -> str:
    from spotter.results.export import COLUMNS

    types = {
        "string": "VARCHAR",
        "float": "DOUBLE",
        "int": "BIGINT",
        "timestamp": "TIMESTAMPTZ",
        "local_timestamp": "TIMESTAMP",
        "topk": "STRUCT(label VARCHAR, score DOUBLE)[]",
        "counts": "MAP(VARCHAR, BIGINT)",
        "boxes": "STRUCT(label VARCHAR, score DOUBLE, box DOUBLE[])[]",
    }
    columns = ", ".join(f"CAST(NULL AS {types[kind]}) AS {name}" for name, kind in COLUMNS if name != PARTITION)
    return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS {PARTITION} WHERE false"


def check(text: str, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """Refuse anything but one SELECT, or one EXPLAIN of a SELECT, before any data is read; the
    statement's kind ("SELECT" or "EXPLAIN")."""
    import duckdb

    parse = con.extract_statements if con is not None else duckdb.extract_statements
    try:
        statements = parse(text)
    except duckdb.Error as exc:
        raise SqlError(_one_line(exc)) from None
    if len(statements) != 1:
        raise SqlError(f"give one statement, got {len(statements)}")
    kind = _kind(statements[0])
    if kind == "EXPLAIN":
        inner = _explained(statements[0].query)
        try:
            wrapped = parse(inner) if inner is not None else []
        except duckdb.Error:
            wrapped = []
        if len(wrapped) != 1 or _kind(wrapped[0]) != "SELECT":
            what = _kind(wrapped[0]) if len(wrapped) == 1 else "what it wraps"
            raise SqlError(
                f"read only: EXPLAIN of {what} is not allowed (EXPLAIN ANALYZE runs the statement; "
                f"EXPLAIN a SELECT over the tables {TABLES})"
            )
        return kind
    if kind not in ALLOWED:
        words = statements[0].query.split()
        if kind == "LOAD" and words and words[0].upper() in ("INSTALL", "FORCE"):
            kind = "INSTALL"  # DuckDB files INSTALL under LOAD
        raise SqlError(f"read only: {kind} is not allowed (SELECT or EXPLAIN over the tables {TABLES})")
    return kind


def _kind(statement: Any) -> str:
    """The statement's kind; a kind this duckdb's StatementType does not name (UPDATE EXTENSIONS
    raises ValueError) is no read."""
    try:
        return str(statement.type.name)
    except ValueError:
        return "UNNAMED"


def _explained(query: str) -> str | None:
    """The statement an EXPLAIN wraps, by DuckDB's own tokens: after EXPLAIN, an optional ANALYZE and
    an optional parenthesised option list; None when the text is not shaped so."""
    import duckdb

    starts = [position for position, _ in duckdb.tokenize(query)]
    words = [query[a:b].strip().upper() for a, b in zip(starts, [*starts[1:], len(query)])]
    if not words or words[0] != "EXPLAIN":
        return None
    i = 1
    if i < len(words) and words[i] in ("ANALYZE", "ANALYSE"):
        i += 1
    if i < len(words) and words[i] == "(":
        try:
            i = words.index(")", i) + 1
        except ValueError:
            return None
    return query[starts[i] :] if i < len(words) else None


def stream(con: duckdb.DuckDBPyConnection, text: str, chunk: int = CHUNK_ROWS) -> tuple[list[str], Iterator[list[Row]]]:
    """(column names, chunks of rows) of one read-only statement: DuckDB streams the answer through
    Arrow (time zones without pytz), `chunk` rows at a time, so memory stays bounded whatever its size.

    DuckDB runs in a helper thread while this one waits in Python, where Ctrl-C is heard: the
    KeyboardInterrupt interrupts the query (`con.interrupt()`) and goes on up, at once (a query run
    from this thread held it inside DuckDB, deaf to Ctrl-C, until it finished)."""
    check(text, con)
    pump = _Pump(con, text, chunk)
    columns = pump.columns()
    return columns, pump.chunks()


def _fresh_transaction(con: duckdb.DuckDBPyConnection) -> None:
    """A failed statement aborts its transaction: start another read-only one for the next."""
    import duckdb

    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")
    with contextlib.suppress(duckdb.Error):
        con.execute("BEGIN TRANSACTION READ ONLY")


class _Pump:
    """One statement's answer, read by a helper thread and handed over a small queue."""

    JOIN_S = 5.0  # an interrupted query ends in milliseconds; never wait on it for ever
    WAIT_S = 0.1  # how often each side looks up from waiting (Ctrl-C on this side; a stop on the other)

    def __init__(self, con: duckdb.DuckDBPyConnection, text: str, chunk: int) -> None:
        import queue

        self.con = con
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(text, chunk), name="spotter-sql", daemon=True)
        self.thread.start()

    def _put(self, kind: str, value: Any) -> bool:
        import queue

        while not self.stopped.is_set():
            try:
                self.queue.put((kind, value), timeout=self.WAIT_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, text: str, chunk: int) -> None:
        import duckdb
        import pyarrow as pa

        try:
            reader = self.con.sql(text).to_arrow_reader(chunk)
            if not self._put("columns", list(reader.schema.names)):
                return
            for batch in reader:
                # a MAP (a detector's `counts`) as a dict, as JSON shows it, not a list of pairs
                columns = (column.to_pylist(maps_as_pydicts="lossy") for column in batch.columns)
                rows = list(zip(*columns)) if batch.num_columns else []
                if not self._put("rows", rows):
                    return
            self._put("end", None)
        except (duckdb.Error, pa.ArrowException, OSError) as exc:  # mid-stream, Arrow hands it on as OSError
            _fresh_transaction(self.con)
            self._put("error", SqlError(_message(exc)))
        except BaseException as exc:  # anything else reaches the caller too, never a silent thread
            self._put("error", exc)

    def _get(self) -> tuple[str, Any]:
        import queue

        try:
            while True:
                try:
                    item = self.queue.get(timeout=self.WAIT_S)
                except queue.Empty:
                    continue
                if item[0] == "error":
                    raise item[1]
                return item
        except BaseException:  # Ctrl-C, an error, or the caller gone: the query stops too
            self.stop()
            raise

    def stop(self) -> None:
        """Interrupt the query and wait for the thread to leave DuckDB: a thread still inside it when
        the interpreter exits aborts the process (C++ "exception not rethrown")."""
        if not self.stopped.is_set():
            self.stopped.set()
            self.con.interrupt()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=self.JOIN_S)

    def columns(self) -> list[str]:
        kind, value = self._get()
        if kind != "columns":  # never: the thread hands the names first
            raise SqlError("no answer")
        names: list[str] = value
        return names

    def chunks(self) -> Iterator[list[Row]]:
        try:
            while True:
                kind, value = self._get()
                if kind == "end":
                    return
                yield value
        finally:
            self.stop()


def run(con: duckdb.DuckDBPyConnection, text: str) -> tuple[list[str], list[Row]]:
    """(column names, rows) of one read-only statement, all in memory: for small answers and tests."""
    columns, chunks = stream(con, text)
    return columns, [row for rows in chunks for row in rows]
