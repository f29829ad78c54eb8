"""The command line against hostile input: `spotter sql` stays read-only and stops on Ctrl-C,
`spotter export` replaces its output whole or not at all, `spotter sync` and `spotter dlq` neither
follow nor print what they should not, and `spotter predict` reads bounded, regular files and
decodes through the classify function's budgeted decoder."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, clean_env
from records_helpers import make_record

from spotter.cli import main as spotter

# ---- spotter sql: read only -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    from spotter.parquet_copy import write_layout

    data = tmp_path_factory.mktemp("sql") / "data"
    write_layout([make_record(i) for i in range(3)], data)
    return data


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` (files, folders, links) with its content's digest."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.rglob("*"))
    }


def _sql(argv, capsys):
    try:
        code = spotter(["sql", *argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


# One statement of each kind DuckDB's parser reports, aimed at the data folder where it can be.
def _writes(data: Path) -> dict[str, str]:
    part = next(data.glob("upload_day=*/*.parquet"))
    forged = f"COPY (SELECT * FROM predictions UNION ALL SELECT * FROM predictions) TO '{part}'"
    return {
        "INSERT": "INSERT INTO predictions SELECT * FROM predictions",
        "UPDATE": "UPDATE predictions SET label = 'forged'",
        "CREATE": "CREATE TABLE t AS SELECT * FROM predictions",
        "DELETE": "DELETE FROM predictions",
        "PREPARE": "PREPARE p AS SELECT 1",
        "EXECUTE": "EXECUTE p",
        "ALTER": "ALTER VIEW predictions RENAME TO p2",
        "TRANSACTION": "COMMIT",
        "COPY": forged,
        "VARIABLE_SET": "SET VARIABLE x = 1",
        "CREATE_FUNC": "CREATE MACRO m(a) AS a",
        "DROP": "DROP VIEW predictions",
        "EXPORT": f"EXPORT DATABASE '{data}/export'",
        "PRAGMA": f"IMPORT DATABASE '{data}'",
        "VACUUM": "ANALYZE predictions",
        "CALL": "CALL checkpoint()",
        "SET": "SET enable_external_access = true",
        "LOAD": "LOAD httpfs",
        "ATTACH": f"ATTACH '{data}/x.db' AS x",
        "DETACH": "DETACH memory",
        "MULTI": "PIVOT predictions ON label",
        "MERGE_INTO": "MERGE INTO predictions USING predictions p ON (p.key = predictions.key) WHEN MATCHED THEN DELETE",
    }


# Kinds the parser never reports for text (the Python API's own, or folded into another kind above).
# SELECT and EXPLAIN are tried below. VARIABLE_SET and CREATE_FUNC are parsed as SET and CREATE here.
_NOT_FROM_TEXT = {
    "INVALID", "ANALYZE", "RELATION", "EXTENSION", "LOGICAL_PLAN", "COPY_DATABASE", "VARIABLE_SET", "CREATE_FUNC",
    "EXPLAIN", "SELECT",
}  # fmt: skip


def test_sql_refuses_every_statement_kind_but_select_and_leaves_the_data_as_it_was(layout, capsys):
    import duckdb

    writes = _writes(layout)
    parsed = {duckdb.extract_statements(text)[0].type.name for text in writes.values()}
    assert parsed | _NOT_FROM_TEXT == set(duckdb.StatementType.__members__), "a new statement kind: add one"
    part = next(layout.glob("upload_day=*/*.parquet"))
    wrapped = [
        f"EXPLAIN ANALYZE COPY (SELECT * FROM predictions) TO '{part}'",
        f"EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{layout}/upload_day=2099-01-01/part.parquet'",
        "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
        "EXPLAIN ANALYZE DROP VIEW predictions",
        "EXPLAIN ANALYZE INSERT INTO predictions SELECT * FROM predictions",
        "explain analyse DELETE FROM predictions",
        f"EXPLAIN (ANALYZE) COPY (SELECT 1 AS a) TO '{part}'",
        f"/* a comment */ EXPLAIN (FORMAT json, ANALYZE) COPY (SELECT 1 AS a) TO '{part}'",
        "EXPLAIN CREATE TABLE t AS SELECT 1",
        "SELECT 1; DROP VIEW predictions",
        f"SELECT 1; COPY (SELECT 1 AS a) TO '{part}'",
        "UPDATE EXTENSIONS",  # a kind this duckdb's StatementType does not even name
        "INSTALL httpfs",
    ]
    before = _snapshot(layout)
    for text in [*writes.values(), *wrapped]:
        code, _, err = _sql(["--data", str(layout), text], capsys)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (text, err)
        assert "read only" in err or "one statement" in err, (text, err)
        assert _snapshot(layout) == before, text
    # what is a read still runs, EXPLAIN ANALYZE of a SELECT included
    code, out, _ = _sql(["--data", str(layout), "--format", "csv", "SELECT count(*) AS n FROM predictions"], capsys)
    assert code == 0 and out.split() == ["n", "3"]
    code, out, _ = _sql(["--data", str(layout), "EXPLAIN ANALYZE SELECT count(*) FROM predictions"], capsys)
    assert code == 0 and "Total Time" in out, out
    assert _snapshot(layout) == before


def test_sql_connection_refuses_writes_even_past_the_statement_check(layout, tmp_path):
    """Defence in depth: with check() out of the way, the connection itself writes neither the
    catalog nor a file beside the data."""
    from spotter.sql import connect

    con = connect(layout, tmp_path / "spill")
    before = _snapshot(layout)
    assert con.execute("SELECT count(*) FROM predictions").fetchall() == [(3,)]
    for text in (
        "CREATE TABLE t AS SELECT 1",
        "DROP VIEW predictions",
        f"COPY (SELECT 1 AS a) TO '{layout}/upload_day=2099-01-01/part.parquet'",
        f"COPY (SELECT 1 AS a) TO '{next(layout.glob('upload_day=*/*.parquet'))}'",
        "SET enable_external_access = true",
    ):
        with pytest.raises(Exception):  # noqa: B017 (DuckDB's own error classes vary by statement)
            con.execute(text)
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION READ ONLY")
    assert _snapshot(layout) == before


# ---- spotter sql: Ctrl-C --------------------------------------------------------------------------


def test_ctrl_c_stops_a_long_sql_query_within_a_second_or_two(layout):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spotter.cli",
            "sql",
            "--data",
            str(layout),
            "SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = -1",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        # a background job inherits SIGINT ignored: give the command the terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        time.sleep(2.5)  # imports, the view, and the query under way
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        process.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, err = process.communicate()
    assert process.returncode == 130 and "Traceback" not in err, err
    print(f"Ctrl-C to exit: {took:.2f} s")
    assert "interrupted" in err and took < 2.0, took
