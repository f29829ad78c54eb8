"""spotter stats and spotter sql against the table in moto, the Parquet copy's writer against moto S3,
and the README's Athena examples run in DuckDB over the copy's layout."""

import csv
import io
import json

import pytest
from records_helpers import (
    PER_LABEL_PER_DRONE_PER_DAY,
    POSITIVES_IN_A_BOX,
    make_record,
    matches_query,
    seed_table,
)

from spotter.adapters.dynamodb import DynamoPredictionQueries
from spotter.cli import main as spotter
from spotter.results.query import PredictionQuery, QueryError
from spotter.results.stats import parse_dimensions, summarise


@pytest.fixture
def seeded(stack):
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    return table, seed_table(table)


def _stats_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    "query",
    [
        PredictionQuery(),
        PredictionQuery(source="owl"),
        PredictionQuery(status="ok", min_score=0.7),
        PredictionQuery(since="2026-11-05T00:00:00.000Z", until="2026-11-09T00:00:00.000Z"),
    ],
    ids=["everything", "source", "status-score", "window"],
)
def test_stats_counts_and_scores_match_the_table(seeded, query):
    table, records = seeded
    from spotter.results.stats import matching_records

    by = ("label", "source")
    rows = summarise(matching_records(DynamoPredictionQueries(table, page_size=9).query, query), by)
    expected: dict = {}
    for r in records:
        if matches_query(r, query):
            expected.setdefault((r.label, r.source), []).append(r.score)
    assert {(r["label"], r["source"]): r["count"] for r in rows} == {k: len(v) for k, v in expected.items()}
    for r in rows:
        scores = [s for s in expected[(r["label"], r["source"])] if s is not None]
        assert r["mean_top"] == (pytest.approx(sum(scores) / len(scores)) if scores else None)
        assert r["max_top"] == (max(scores) if scores else None)


def test_stats_cli_formats_filters_and_says_when_it_scans(seeded, stack, capsys, tmp_path):
    _table, records = seeded
    name = stack.spec.predictions.name
    assert spotter(["stats", "--table", name, "--by", "label,source", "--source", "FALCON", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    rows = _stats_rows(out)
    assert "source 'FALCON' matched as 'falcon'" in err and "scanning" not in err
    assert list(rows[0]) == [
        *("label", "source", "count", "mean_top", "min_top", "max_top"),
        *("p5_top", "p50_top", "p95_top"),  # the seeded records have no decision: the top score's
    ]
    assert sum(int(r["count"]) for r in rows) == sum(r.source == "falcon" for r in records)
    assert spotter(["stats", "--table", name, "--by", "status", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "scanning the whole table" in err
    assert {r["status"]: r["count"] for r in json.loads(out)} == {
        s: sum(r.status == s for r in records) for s in ("ok", "rejected")
    }
    plot = tmp_path / "counts.png"
    assert spotter(["stats", "--table", name, "--by", "day", "--label", "benign", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5000


def test_unknown_names_are_refused_with_the_known_ones(seeded, stack, capsys):
    name = stack.spec.predictions.name
    assert spotter(["query", "--table", name, "--label", "Benign", "--limit", "2"]) == 0
    assert "label 'Benign' matched as 'benign'" in capsys.readouterr().err
    assert spotter(["stats", "--table", name, "--source", "hawk"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "spotter stats: no source 'hawk' in the table; known sources: falcon, owl, web"
    assert spotter(["query", "--table", name, "--model", "M@2"]) == 0
    assert "model 'M@2' matched as 'm@2'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["query", "--since", "yesterday"], "spotter query: argument --since: not an ISO 8601 date or time"),
        (["query", "--limit", "0"], "spotter query: argument --limit: a whole number of records, 1 or more"),
        (["query", "--limit", "-1"], "spotter query: argument --limit: a whole number of records, 1 or more"),
        (["stats", "--by", "colour"], "spotter stats: by must name some of label"),
        (["query", "--bbox", "1,2,3"], "spotter query: argument --bbox: bbox is four numbers, south,west,north,east"),
        (
            ["export", "--output", "/missing/dir/x.parquet"],
            "spotter export: cannot write /missing/dir/x.parquet: no folder",
        ),
        (["sql", "DELETE FROM predictions"], "spotter sql: read only: DELETE is not allowed"),
        (["sql", "SELEC label FROM predictions"], "spotter sql: Parser Error"),
    ],
)
def test_every_usage_error_is_one_line(seeded, stack, capsys, argv, message):
    code: int | str | None
    try:
        code = spotter([*argv, "--table", stack.spec.predictions.name])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(message) and err.count("\n") == 1, err


def test_a_negative_bbox_is_a_value_not_a_flag(seeded, stack, capsys):
    assert (
        spotter(
            [
                "query",
                "--table",
                stack.spec.predictions.name,
                "--bbox",
                "-33.95,151.10,-33.80,151.30",
                "--format",
                "jsonl",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""  # parsed (nothing lies there), not "expected one argument"
    assert spotter(["query", "--table", stack.spec.predictions.name, "--bbox", "40,-5,50,10", "--format", "jsonl"]) == 0
    assert capsys.readouterr().out.count("\n") > 5


def test_limit_means_at_most_that_many(seeded, stack, capsys):
    name = stack.spec.predictions.name
    assert spotter(["query", "--table", name, "--limit", "5000", "--format", "jsonl"]) == 0
    assert capsys.readouterr().out.count("\n") == 60
    assert spotter(["query", "--table", name, "--limit", "7", "--format", "jsonl"]) == 0
    assert capsys.readouterr().out.count("\n") == 7


def test_sql_over_the_local_table_answers_the_readme_examples(seeded, stack, capsys):
    _, records = seeded
    name = stack.spec.predictions.name
    assert spotter(["sql", "--table", name, "--format", "json", PER_LABEL_PER_DRONE_PER_DAY]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected: dict = {}
    for r in records:
        if r.status == "ok" and r.model == "m@1":
            expected[(r.upload_day, r.source, r.label)] = expected.get((r.upload_day, r.source, r.label), 0) + 1
    assert {(r["upload_day"], r["source"], r["label"]): r["images"] for r in rows} == expected
    assert spotter(["sql", "--table", name, "--format", "csv", POSITIVES_IN_A_BOX]) == 0
    found = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (
        len(found)
        == sum(
            r.model == "m@2"
            and r.label == "malignant"
            and r.score >= 0.8
            and r.latitude is not None
            and 42 <= r.latitude <= 48
            and 0 <= r.longitude <= 8
            for r in records
        )
        > 0
    )
    assert (
        spotter(
            [
                "sql",
                "--table",
                name,
                "SELECT count(*) AS n, count(DISTINCT model) AS models, "
                "max(len(top)) AS k, any_value(typeof(top)) AS t FROM predictions",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "60" in printed and 'STRUCT("label" VARCHAR, score DOUBLE)[]' in printed


def test_sql_is_read_only_even_through_functions(tmp_path, capsys):
    from spotter.results.parquet_copy import write_layout
    from spotter.results.sql import SqlError, connect, run

    write_layout([make_record(1)], tmp_path / "data")
    con = connect(tmp_path / "data", tmp_path / "spill")
    assert run(con, "SELECT count(*) FROM predictions")[1] == [(1,)]
    for text in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY predictions TO '/tmp/x.csv'",
        "SET enable_external_access = true",
        "ATTACH '/tmp/x.db'",
    ):
        with pytest.raises(SqlError):
            run(con, text)


def test_parquet_keeps_every_field_with_top_k_as_structs(tmp_path):
    import pyarrow.parquet as pq

    from spotter.results.export import COLUMN_NAMES, CSV_COLUMN_NAMES, to_csv
    from spotter.results.tabular import write

    record = make_record(3, captured_at="2026-10-01T08:00:00.000")
    out = tmp_path / "r.parquet"
    write([record], "parquet", out)
    row = pq.read_table(out).to_pylist()[0]
    assert set(row) == set(COLUMN_NAMES)
    assert row["top"] == [{"label": "benign", "score": 0.53}, {"label": "malignant", "score": 0.4}]
    assert (row["etag"], row["frames"], row["preprocess_ms"], row["model"], row["upload_day"]) == (
        "e3",
        1,
        1.5,
        "m@1",
        "2026-11-01",
    )
    assert row["captured_at"] is None and str(row["captured_at_local"]) == "2026-10-01 08:00:00"
    csv_row = next(csv.DictReader(io.StringIO(to_csv([record]))))
    # every column but a detector's boxes (JSON lines, Parquet and SQL carry those)
    assert set(csv_row) == set(CSV_COLUMN_NAMES) == set(COLUMN_NAMES) - {"detections"}
    assert csv_row["top"] == "benign:0.53|malignant:0.4"  # as exact as score
    assert csv_row["captured_at_local"] == "2026-10-01T08:00:00.000" and csv_row["captured_at"] == ""


def test_capture_time_without_offset_stays_local():
    from spotter.records import normalise_capture_time, split_capture_time

    assert normalise_capture_time("2026:10:01 08:00:00".replace(":", "-", 2)) == "2026-10-01T08:00:00.000"
    assert normalise_capture_time("2026-10-01T08:00:00+02:00") == "2026-10-01T06:00:00.000Z"
    assert split_capture_time("2026-10-01T08:00:00.000") == (None, "2026-10-01T08:00:00.000")
    assert split_capture_time("2026-10-01T06:00:00.000Z") == ("2026-10-01T06:00:00.000Z", None)
    assert normalise_capture_time("not a time") is None


def test_drones_cannot_be_named_web_or_unknown():
    from spotter.keys import is_valid_source, origin_of
    from spotter.ops.sync import source_prefix

    for name in ("web", "Web", "unknown"):
        assert not is_valid_source(name)
        with pytest.raises(ValueError, match="reserved"):
            source_prefix(name)
    assert origin_of("drones/web/b1/x.jpg").source == "unknown"  # never mixed with the page's uploads
    assert origin_of("drones/owl/b1/x.jpg").source == "owl"


def test_stats_dimensions_are_checked():
    assert parse_dimensions("label, capture_day") == ("label", "capture_day")
    for bad in (",", "label,label", "colour"):
        with pytest.raises(QueryError):
            parse_dimensions(bad)


def test_api_stats_counts_what_predictions_lists(seeded, stack, monkeypatch):
    import base64

    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    _, records = seeded
    monkeypatch.setenv("ALLOWED_ORIGINS", "http://127.0.0.1:8123")
    module = load_handler_module("api")

    def get(path):
        response = module.lambda_handler(
            http_api_event("GET", path, {"origin": "http://127.0.0.1:8123"}, b""), LambdaContext("api")
        )
        body = response.get("body", "")
        return response["statusCode"], json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)

    status, body = get("/stats?by=label,status&source=owl&model=all")
    assert status == 200 and body["by"] == ["label", "status"] and body["scanned"] is False
    assert body["records"] == sum(r.source == "owl" for r in records)
    assert {(g["label"], g["status"]): g["count"] for g in body["groups"]} == {
        k: sum((r.label, r.status) == k for r in records if r.source == "owl")
        for k in {(r.label, r.status) for r in records if r.source == "owl"}
    }
    assert get("/stats?by=colour")[0] == 400


# --- the analyst tools as a README-only tester used them -------------------------------------------------


@pytest.fixture
def layout(tmp_path):
    from spotter.results.parquet_copy import write_layout

    write_layout([make_record(i) for i in range(3)], tmp_path / "data")
    return tmp_path / "data"


def _sql(argv, capsys):
    """(exit code, stdout, stderr) of `spotter sql ...`, argparse's own exits included."""
    code: int | str | None
    try:
        code = spotter(["sql", *argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_usage_error(code, err, *fragments):
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


class _Sink:
    """Standard output that counts what it is given and keeps none of it."""

    def __init__(self):
        self.lines = 0
        self.head = ""

    def write(self, text):
        self.lines += text.count("\n")
        if len(self.head) < 200:
            self.head += text[:200]
        return len(text)

    def flush(self):
        pass


def test_sql_streams_an_answer_larger_than_it_holds(layout, monkeypatch):
    """360,000 rows go out chunk by chunk: Python's own allocations stay far below what holding the
    answer takes (the old code built every row as a tuple first: ~40 MB here, 18 GB for the tester)."""
    import sys
    import tracemalloc

    sink = _Sink()
    monkeypatch.setattr(sys, "stdout", sink)
    tracemalloc.start()
    try:
        code = spotter(
            [
                "sql",
                "--data",
                str(layout),
                "--format",
                "csv",
                "SELECT a.range AS a, b.range AS b FROM range(600) a, range(600) b",
            ]
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0 and sink.lines == 1 + 600 * 600 and sink.head.startswith("a,b\r\n")
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_sql_max_rows_stops_and_says_so(layout, capsys, fmt):
    code, out, err = _sql(
        ["--data", str(layout), "--format", fmt, "--max-rows", "5", "SELECT * FROM range(100000)"], capsys
    )
    assert code == 0 and "stopped after 5 rows (--max-rows 5); more rows match" in err
    if fmt == "json":
        assert [r["range"] for r in json.loads(out)] == [0, 1, 2, 3, 4]
    elif fmt == "csv":
        assert out.splitlines() == ["range", "0", "1", "2", "3", "4"]
    else:
        assert out.splitlines()[-1] == "(5+ rows)"
    code, out, err = _sql(
        ["--data", str(layout), "--format", "json", "--max-rows", "5", "SELECT * FROM range(5)"], capsys
    )
    assert code == 0 and len(json.loads(out)) == 5 and err == ""


def test_an_error_met_mid_stream_is_one_line(layout, capsys):
    code, _out, err = _sql(
        [
            "--data",
            str(layout),
            "--format",
            "csv",
            "SELECT CASE WHEN range > 5000 THEN error('boom') ELSE range END AS n FROM range(10000)",
        ],
        capsys,
    )
    _one_line_usage_error(code, err, "spotter sql: Invalid Input Error: boom")


def test_sql_json_is_one_valid_array_across_chunks(layout, capsys):
    code, out, _ = _sql(["--data", str(layout), "--format", "json", "SELECT range AS n FROM range(5000)"], capsys)
    assert code == 0 and [r["n"] for r in json.loads(out)] == list(range(5000))
    code, out, _ = _sql(["--data", str(layout), "--format", "json", "SELECT 1 AS n WHERE false"], capsys)
    assert code == 0 and json.loads(out) == []


def test_memory_limit_is_a_value_never_sql(layout, tmp_path, capsys):
    target = tmp_path / "x.csv"
    code, _, err = _sql(
        [
            "--data",
            str(layout),
            "--memory-limit",
            f"1GB'; COPY (SELECT 42) TO '{target}'; SET memory_limit='1GB",
            "SELECT 1",
        ],
        capsys,
    )
    _one_line_usage_error(code, err, "spotter sql: argument --memory-limit: a number and a unit")
    assert not target.exists()
    code, _, err = _sql(["--data", str(layout), "--memory-limit", "lots", "SELECT 1"], capsys)
    _one_line_usage_error(code, err, "a number and a unit")
    code, out, err = _sql(
        [
            "--data",
            str(layout),
            "--memory-limit",
            "512MiB",
            "--format",
            "csv",
            "SELECT current_setting('memory_limit') AS m",
        ],
        capsys,
    )
    assert code == 0 and out.splitlines()[1] == "512.0 MiB", (out, err)
    from spotter.results.sql import SqlError, connect

    with pytest.raises(SqlError, match="memory limit"):  # the library checks too
        connect(layout, tmp_path / "spill", "1GB'; SELECT 1; --")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_blobs_print_as_hex_in_every_format(layout, capsys, fmt):
    code, out, err = _sql(["--data", str(layout), "--format", fmt, "SELECT * FROM duckdb_settings() LIMIT 3"], capsys)
    assert code == 0 and err == "" and "access_mode" in out
    code, out, _ = _sql(["--data", str(layout), "--format", fmt, "SELECT '\\xAA\\x01'::BLOB AS b"], capsys)
    assert code == 0 and "aa01" in out


def test_keep_and_data_refuse_what_they_cannot_use_in_one_line(layout, tmp_path, capsys):
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0\n")
    code, _, err = _sql(["--keep", str(afile), "SELECT 1"], capsys)
    _one_line_usage_error(code, err, f"--keep {afile} is a file")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _sql(["--data", str(empty), "SELECT count(*) FROM predictions"], capsys)
    _one_line_usage_error(code, err, f"no Parquet files in {empty}")


def test_extensions_are_never_installed_or_loaded(layout, capsys):
    code, _, err = _sql(["--data", str(layout), "SELECT * FROM sqlite_scan('x.db', 't')"], capsys)
    _one_line_usage_error(code, err, "needs the DuckDB extension 'sqlite_scanner'", "installs and loads no extensions")
    code, _, err = _sql(["--data", str(layout), "INSTALL httpfs"], capsys)
    _one_line_usage_error(code, err, "read only: INSTALL is not allowed")
    code, _, err = _sql(["--data", str(layout), "LOAD httpfs"], capsys)
    _one_line_usage_error(code, err, "read only: LOAD is not allowed")
    code, out, _ = _sql(
        [
            "--data",
            str(layout),
            "--format",
            "csv",
            "SELECT current_setting('autoinstall_known_extensions') "
            "AS i, current_setting('autoload_known_extensions') AS l",
        ],
        capsys,
    )
    assert code == 0 and out.splitlines()[1] == "False,False"


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_explain_prints_the_whole_plan_as_text(layout, capsys, fmt):
    code, out, _ = _sql(
        [
            "--data",
            str(layout),
            "--format",
            fmt,
            "EXPLAIN SELECT label, count(*) FROM predictions GROUP BY label ORDER BY 2",
        ],
        capsys,
    )
    assert code == 0 and "\\x0a" not in out and "…" not in out
    assert out.count("\n") > 10 and "Order By" in out and "READ_PARQUET" in out


def test_csv_for_excel_is_opt_in(layout, tmp_path, capsys, seeded, stack):
    code, out, _ = _sql(["--data", str(layout), "--format", "csv", "SELECT 'café' AS c"], capsys)
    assert code == 0 and out.startswith("c\r\n")  # plain UTF-8: no BOM unless asked
    code, out, _ = _sql(["--data", str(layout), "--format", "csv", "--excel", "SELECT 'café' AS c"], capsys)
    assert code == 0 and out.startswith("\ufeffc\r\n")
    code, _, err = _sql(["--data", str(layout), "--excel", "SELECT 1"], capsys)
    _one_line_usage_error(code, err, "--excel goes with --format csv")
    out_file = tmp_path / "e.csv"
    assert (
        spotter(
            ["export", "--table", stack.spec.predictions.name, "--format", "csv", "--excel", "--output", str(out_file)]
        )
        == 0
    )
    assert out_file.read_bytes().startswith(b"\xef\xbb\xbfobject_id,")


def test_export_dash_is_standard_output_and_a_folder_is_refused(seeded, stack, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = stack.spec.predictions.name
    assert spotter(["export", "--table", name, "--format", "csv", "--output", "-"]) == 0
    out, err = capsys.readouterr()
    assert len(list(csv.DictReader(io.StringIO(out)))) == 60 and "to standard output" in err
    assert not (tmp_path / "-").exists()
    assert spotter(["export", "--table", name, "--format", "parquet", "--output", "-"]) == 2
    _one_line_usage_error(2, capsys.readouterr().err, "Parquet is binary")
    assert spotter(["export", "--table", name, "--format", "csv", "--output", str(tmp_path)]) == 2
    _one_line_usage_error(2, capsys.readouterr().err, "it is a folder")
    assert spotter(["query", "--table", name, "--format", "jsonl", "--output", "-", "--limit", "3"]) == 0
    assert capsys.readouterr().out.count("\n") == 3 and not (tmp_path / "-").exists()


def test_a_one_day_plot_spans_days_not_years_and_keeps_every_point_visible(tmp_path):
    from datetime import date

    import matplotlib.dates as mdates

    from spotter.results.plot import plot_counts

    drawn = plot_counts(
        {"benign": {"2026-11-05": 4}, "malignant": {"2026-11-05": 4}, "(rejected)": {"2026-11-05": 1}},
        tmp_path / "one.png",
    )
    first, last = drawn["x_range"]
    assert date(2026, 10, 29) <= first < date(2026, 11, 5) < last <= date(2026, 11, 12)
    points = [p for series in drawn["points"].values() for p in series]
    assert len(points) == 3 and {x for x, _ in points} == {mdates.date2num(date(2026, 11, 5))}  # on its day
    assert len(set(drawn["sizes"].values())) == 3  # equal counts on one day do not hide each other: rings in rings
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_stats_by_decision(seeded, stack, capsys):
    assert spotter(["stats", "--table", stack.spec.predictions.name, "--by", "decision", "--format", "json"]) == 0
    assert sum(r["count"] for r in json.loads(capsys.readouterr().out)) == 60


def test_api_stats_matches_names_as_the_cli_does(seeded, stack, monkeypatch):
    import base64

    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    _, records = seeded
    monkeypatch.setenv("ALLOWED_ORIGINS", "http://127.0.0.1:8123")
    module = load_handler_module("api")

    def get(path):
        response = module.lambda_handler(
            http_api_event("GET", path, {"origin": "http://127.0.0.1:8123"}, b""), LambdaContext("api")
        )
        body = response.get("body", "")
        return response["statusCode"], json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)

    status, body = get("/stats?by=label&source=OWL&label=Benign&model=all")
    assert status == 200 and body["records"] == sum(r.source == "owl" and r.label == "benign" for r in records) > 0
    assert body["notes"][:2] == ["label 'Benign' matched as 'benign'", "source 'OWL' matched as 'owl'"]
    assert body["notes"][2].startswith("these records span 2 model versions (m@1: ")  # model=all: said
    status, body = get("/stats?source=HAWK&model=all")
    assert status == 400 and body["message"] == "no source 'HAWK' in the table; known sources: falcon, owl, web"
    status, body = get("/stats?label=cat&model=all")
    assert status == 400 and "known labels: benign, malignant" in body["message"]
