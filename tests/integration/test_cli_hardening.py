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
    from spotter.results.parquet_copy import write_layout

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
    code: int | str | None
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
    from spotter.results.sql import connect

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


def test_sql_data_with_a_link_or_a_fifo_among_its_files_is_one_line_never_followed_or_waited_on(tmp_path, capsys):
    """The trial put `evil.parquet -> /etc/passwd` (read, then a traceback) and a FIFO named
    `fifo.parquet` (a hang) in a data folder: both are refused by name before DuckDB opens anything."""
    import os

    from spotter.results.parquet_copy import write_layout

    for odd in ("link", "fifo", "linked-day"):
        data = tmp_path / odd
        write_layout([make_record(i) for i in range(2)], data)
        day = next(data.glob("upload_day=*"))
        if odd == "link":
            (day / "evil.parquet").symlink_to("/etc/passwd")
        elif odd == "fifo":
            os.mkfifo(day / "fifo.parquet")
        else:
            (data / "upload_day=2099-01-01").symlink_to(day)
        code, _out, err = _sql(["--data", str(data), "SELECT count(*) AS n FROM predictions"], capsys)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (odd, err)
        assert ("symbolic link" in err) if odd != "fifo" else ("not a regular file" in err), (odd, err)


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


# ---- spotter export (and every --output): whole or not at all, never through a link ---------------

_WRITE_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from records_helpers import make_record
from spotter.results.tabular import write
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    write([make_record(i) for i in range(200)], sys.argv[3], Path(sys.argv[1]))
except OSError as exc:
    print(exc.errno)
"""


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_failed_export_leaves_the_previous_file_whole(tmp_path, fmt):
    """The disk fills half-way (here a file-size limit, failing the write as ENOSPC would): the file
    that was there before is still there, byte for byte, and no partial file is left beside it."""
    output = tmp_path / f"predictions.{fmt}"
    output.write_bytes(b"the previous export\n")
    result = subprocess.run(
        [sys.executable, "-c", _WRITE_UNDER_A_FILE_SIZE_LIMIT, str(output), str(ROOT / "tests" / "support"), fmt],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=clean_env(),
    )
    assert result.stdout.strip() == "27", result  # EFBIG: the write really failed
    assert output.read_bytes() == b"the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]


def test_export_replaces_the_file_on_enospc_only_after_a_whole_write(tmp_path, monkeypatch):
    import errno

    import spotter.results.tabular as tabular

    output = tmp_path / "out.csv"
    output.write_text("old\n")
    output.chmod(0o640)

    def full_disk(records, stream, **options):
        stream.write("object_id,model\r\n" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tabular, "write_csv", full_disk)
    with pytest.raises(OSError, match="No space"):
        tabular.write([make_record(1)], "csv", output)
    assert output.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    monkeypatch.undo()
    tabular.write([make_record(1)], "csv", output)
    assert output.read_text().startswith("object_id,") and output.stat().st_mode & 0o777 == 0o640


def test_export_refuses_an_output_that_is_a_symbolic_link(tmp_path, capsys):
    target = tmp_path / "precious.txt"
    target.write_text("not to be overwritten\n")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    for argv in (["export", "--format", "csv"], ["query", "--format", "csv"], ["stats"]):
        code = spotter([*argv, "--output", str(link), "--table", "t", "--endpoint-url", "http://127.0.0.1:9"])
        err = capsys.readouterr().err
        assert code == 2 and "symbolic link" in err and err.count("\n") == 1, (argv, err)
    from spotter.files import FileRefused
    from spotter.results.tabular import write

    with pytest.raises(FileRefused, match="symbolic link"):  # the writer itself refuses too
        write([make_record(1)], "csv", link)
    assert target.read_text() == "not to be overwritten\n" and link.is_symlink()


def test_export_refuses_an_output_that_is_a_device_or_a_fifo(tmp_path, capsys):
    """The rename that makes a write whole would replace a device or FIFO with a plain file (the trial's
    `--output /dev/full` did): such outputs are refused, and stay what they were."""
    import os
    import stat

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/full"), tmp_path):
        for argv in (["export", "--format", "csv"], ["query", "--format", "csv"], ["stats"]):
            code = spotter([*argv, "--output", str(path), "--table", "t", "--endpoint-url", "http://127.0.0.1:9"])
            err = capsys.readouterr().err
            assert code == 2 and ("not a regular file" in err or "folder" in err) and err.count("\n") == 1, (
                path,
                argv,
                err,
            )
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and stat.S_ISCHR(Path("/dev/full").lstat().st_mode)
    from spotter.files import FileRefused
    from spotter.results.tabular import write

    with pytest.raises(FileRefused, match="not a regular file"):  # the writer itself refuses too
        write([make_record(1)], "csv", fifo)


# ---- spotter sync and spotter dlq: what is read, what is printed ----------------------------------


def _raw_controls(text: str) -> list[str]:
    """Characters that must never reach a terminal as they are: control (but the line ends between
    printed lines), bidi and other format characters, surrogates."""
    import unicodedata

    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs")]


@pytest.fixture
def drone_folder(tmp_path):
    """A card with what a hostile or careless folder holds beside one photo."""
    import os

    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(b"\xff\xd8 a photo")
    (folder / "passwd.jpg").symlink_to("/etc/passwd")
    (folder / "environ.jpg").symlink_to("/proc/self/environ")
    (folder / "inside.jpg").symlink_to("good.jpg")  # a link that stays in the folder: uploaded
    (folder / "etc").symlink_to("/etc")
    (folder / "loop").symlink_to(".")
    os.mkfifo(folder / "pipe.jpg")
    (folder / "new\nline.jpg").write_bytes(b"x")
    (folder / "esc\x1b[2Jape.jpg").write_bytes(b"x")
    os.close(os.open(os.fsencode(folder) + b"/latin1-\xe9t\xe9.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
    (folder / "\u202egpj.exe").write_bytes(b"x")  # a legal name, shown escaped (it reorders the line)
    return folder


def _sync(folder, moto, capsys, *extra):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    if "uploads" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="uploads")
    started = time.monotonic()
    code = spotter(["sync", str(folder), "--source", "kite", "--bucket", "uploads", "--endpoint-url", moto, *extra])
    out, err = capsys.readouterr()
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="uploads").get("Contents", []))
    return code, out, err, keys, time.monotonic() - started


def test_sync_skips_links_out_special_files_and_bad_names_with_one_escaped_line_each(drone_folder, moto, capsys):
    code, out, err, keys, took = _sync(drone_folder, moto, capsys, "--retries", "4")
    assert code == 0, err
    assert keys == ["drones/kite/good.jpg", "drones/kite/inside.jpg", "drones/kite/\u202egpj.exe"]
    skipped = [line for line in err.splitlines() if line.startswith("skipped ")]
    reasons = {line.split(": ", 1)[0].rsplit("/", 1)[-1]: line.split(": ", 1)[1] for line in skipped}
    assert set(reasons) == {
        "passwd.jpg", "environ.jpg", "etc", "loop", "pipe.jpg", "new\\nline.jpg", "esc\\x1b[2Jape.jpg", "latin1-\\xe9t\\xe9.jpg",
    }, err  # fmt: skip
    assert "outside the synced folder" in reasons["passwd.jpg"] and "outside" in reasons["environ.jpg"]
    assert "not a regular file" in reasons["pipe.jpg"] and "control character" in reasons["new\\nline.jpg"]
    assert "not valid UTF-8" in reasons["latin1-\\xe9t\\xe9.jpg"] and "failed 0" in err
    assert not _raw_controls(out + err) and took < 10  # no retries of what cannot succeed
    # --dry-run prints every name escaped too
    code, out, err, _, _ = _sync(drone_folder, moto, capsys, "--dry-run")
    assert code == 0 and not _raw_controls(out + err)


def test_sync_follow_symlinks_follows_links_but_never_reads_kernel_or_special_files(drone_folder, moto, capsys):
    code, out, err, keys, _ = _sync(drone_folder, moto, capsys, "--follow-symlinks", "--dry-run")
    assert code == 0, err
    assert "passwd.jpg -> s3://uploads/drones/kite/passwd.jpg" in out  # asked for: followed
    assert "environ.jpg" not in out and "pipe.jpg" not in out and "loop" not in out
    assert "/proc or /sys" in err and "not a regular file" in err and keys == []


def test_dlq_prints_object_keys_escaped(moto, capsys):
    import json as json_

    import boto3

    sqs = boto3.client("sqs", endpoint_url=moto, region_name="us-east-1")
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    key = "drones/kite/a\nforged line \x1b[2J\u202egpj.jpg"
    from urllib.parse import quote_plus

    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "uploads"}, "object": {"key": quote_plus(key), "size": 1}},
            }
        ]
    }
    sqs.send_message(QueueUrl=url, MessageBody=json_.dumps(event))
    sqs.send_message(QueueUrl=url, MessageBody="not JSON\n- forged: line \x1b[2J")  # quoted in its reason
    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="uploads")
    code = spotter(["dlq", "--dlq-url", url, "--bucket", "uploads", "--endpoint-url", moto])
    out = capsys.readouterr().out
    assert code == 0 and "a\\nforged line \\x1b[2J\\u202egpj.jpg" in out, out
    assert "not JSON\\\\n- forged: line \\\\x1b[2J" in out, out  # (the reason quotes it with repr)
    assert not _raw_controls(out) and len(out.splitlines()) == 5, out


# ---- spotter predict: regular files only, bounded, decoded in the budget --------------------------


def _predict(*args, env=None, timeout=60):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "spotter.cli", "predict", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=clean_env(**(env or {})),
    )
    return result, time.monotonic() - started


def test_predict_refuses_devices_and_fifos_as_model_or_image_at_once(tmp_path):
    import json
    import os

    import images
    from conftest import MODELS

    red, fifo = tmp_path / "red.jpg", tmp_path / "pipe"
    red.write_bytes(images.jpeg(images.RED))
    os.mkfifo(fifo)  # no writer: a read would wait for ever
    for model in ("/dev/zero", fifo):
        result, took = _predict(red, "--model", model, timeout=30)
        assert result.returncode == 2 and "not a regular file" in result.stderr and took < 15, (result, took)
    result, took = _predict("/dev/zero", fifo, red, "--model", MODELS / "colours-int8.tflite", timeout=30)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1 and took < 15, (result, took)
    assert ["not a regular file" in line.get("error", "") for line in lines] == [True, True, False]
    assert lines[2]["label"] == "red"
    big = tmp_path / "big.jpg"
    big.write_bytes(images.jpeg(images.RED) + b"\0" * 3000)
    result, _ = _predict(big, "--model", MODELS / "colours-int8.tflite", env={"MAX_UPLOAD_BYTES": "2000"})
    assert "over the 2,000-byte limit" in json.loads(result.stdout)["error"], result


def test_predict_decodes_in_the_classify_functions_budget_with_its_reason(tmp_path, int8_model):
    """A PNG within the pixel limit whose decode needs more than the decode memory budget: the CLI
    refuses it with the text the classify pipeline writes in the record (it once decoded it in its
    own process, unbounded)."""
    import json

    import hostile
    from fakes import FakeObjects, FakePredictions

    from spotter.adapters.wiring import decode_limits
    from spotter.config import Settings
    from spotter.ingest.decode_sandbox import BudgetedDecoder
    from spotter.ingest.events import S3Object
    from spotter.ingest.pipeline import ClassifyService
    from spotter.model.classifier import Classifier

    env = {"DECODE_MEMORY_MB": "64"}
    data = hostile.png_zeros(6000, 6000, 8, 6)  # 36 MP of RGBA: 144 MB decoded, a few hundred KB on disk
    image = tmp_path / "wide.png"
    image.write_bytes(data)
    result, _ = _predict(image, "--model", int8_model, env=env)
    cli_reason = json.loads(result.stdout)["error"]
    assert result.returncode == 1 and "64 MB decode memory limit" in cli_reason, result

    limits = decode_limits(Settings.from_env({**clean_env(), **env}))
    bounded = BudgetedDecoder(limits)
    try:
        service = ClassifyService(
            FakeObjects({("b", "drones/x/wide.png"): data}),
            FakePredictions(),
            Classifier.load(int8_model),
            limits=limits,
            decoder=bounded,
        )
        record = service.classify(S3Object("b", "drones/x/wide.png", size=len(data))).record
    finally:
        bounded.close()
    assert record is not None and record.status == "rejected" and record.reason is not None
    assert cli_reason.split(" (")[0] == record.reason.split(" (")[0], (cli_reason, record.reason)
