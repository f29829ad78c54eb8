"""Issue 28, items 3, 4, 5, 7, 8: exact numbers in every output (integers as integers, a HUGEINT whole,
decimals as written, `top` at full precision), plain CSV stays plain (the formula guard only with
--excel), refusals that name the offending value, and model ids whole in tables (and short forms
`--model` accepts). Real DuckDB over real Parquet files (`spotter sql --data`), the real writers."""

import csv
import io
import json

import pytest
from records_helpers import make_record

from spotter.cli import main as spotter
from spotter.results.export import to_csv
from spotter.results.query import PredictionQuery, QueryError
from spotter.results.tabular import write

LONG_MODEL = "skin-lesion-mobilenet-v2-int8@sha256-7aad0c1b2d3e"
SIZES = [5_000_000, 6_362_542]  # sum 11362542


@pytest.fixture
def data(tmp_path):
    from spotter.results.parquet_copy import write_layout

    records = [
        make_record(0, size=SIZES[0], model=LONG_MODEL, file_name="-10m_north.jpg", score=0.914062, latitude=-33.95),
        make_record(1, size=SIZES[1], model=LONG_MODEL, file_name="=1+1.jpg", score=0.5),
    ]
    write_layout(records, tmp_path / "data")
    return tmp_path / "data"


def _sql(capsys, data, fmt, query, *extra):
    code = spotter(["sql", "--data", str(data), "--format", fmt, *extra, query])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


EXACT = (
    "SELECT sum(size) AS total, 123456789012345678901::HUGEINT AS huge, 1.50::DECIMAL(10,2) AS price, "
    "max(score) AS best, [2.25::DECIMAL(5,2)] AS listed, {'k': 0.10::DECIMAL(3,2)} AS struct FROM predictions"
)


def test_sql_numbers_are_exact_in_table_csv_and_json(capsys, data):
    out = _sql(capsys, data, "table", EXACT)
    values = out.splitlines()[1].split()
    assert values[:4] == ["11362542", "123456789012345678901", "1.50", "0.914062"], out
    assert "11362542.0" not in out and "e+20" not in out

    (row,) = csv.DictReader(io.StringIO(_sql(capsys, data, "csv", EXACT)))
    assert (row["total"], row["huge"], row["price"], row["best"]) == (
        "11362542",
        "123456789012345678901",
        "1.50",
        "0.914062",
    )
    assert json.loads(row["listed"]) == [2.25] and '"k": 0.10' in row["struct"]

    text = _sql(capsys, data, "json", EXACT)
    (parsed,) = json.loads(text)
    assert parsed["total"] == 11362542 and isinstance(parsed["total"], int)
    assert parsed["huge"] == 123456789012345678901  # a JSON integer, every digit
    assert '"price": 1.50' in text and '"listed": [2.25]' in text and '"k": 0.10' in text
    assert parsed["best"] == 0.914062


def test_top_in_csv_has_the_precision_of_score():
    record = make_record(
        0, score=0.914062, top=[{"label": "benign", "score": 0.914062}, {"label": "m", "score": 0.0859375}]
    )
    (row,) = csv.DictReader(io.StringIO(to_csv([record])))
    assert row["score"] == "0.914062" and row["top"] == "benign:0.914062|m:0.0859375"


def test_plain_csv_is_plain_and_the_formula_guard_comes_only_with_excel(capsys, data, tmp_path):
    record = make_record(0, file_name="-10m_north.jpg", camera="=cmd", latitude=-33.95)
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    write([record], "csv", plain)
    write([record], "csv", excel, excel=True)
    (row,) = csv.DictReader(io.StringIO(plain.read_text(encoding="utf-8")))
    assert (row["file_name"], row["camera"], row["latitude"]) == ("-10m_north.jpg", "=cmd", "-33.95")
    (row,) = csv.DictReader(io.StringIO(excel.read_text(encoding="utf-8-sig")))
    assert (row["file_name"], row["camera"], row["latitude"]) == ("'-10m_north.jpg", "'=cmd", "-33.95")

    query = "SELECT file_name, latitude FROM predictions ORDER BY file_name"
    rows = list(csv.DictReader(io.StringIO(_sql(capsys, data, "csv", query))))
    assert [(r["file_name"], r["latitude"]) for r in rows] == [("-10m_north.jpg", "-33.95"), ("=1+1.jpg", "")]
    rows = list(csv.DictReader(io.StringIO(_sql(capsys, data, "csv", query, "--excel").lstrip("\ufeff"))))
    # a text cell is guarded for the spreadsheet; a negative number is data, never a formula
    assert [(r["file_name"], r["latitude"]) for r in rows] == [("'-10m_north.jpg", "-33.95"), ("'=1+1.jpg", "")]


@pytest.mark.parametrize(
    ("bbox", "named"),
    [
        ((91.0, 0.0, 92.0, 8.0), "bbox south 91 is out of range"),
        ((0.0, -181.5, 1.0, 8.0), "bbox west -181.5 is out of range"),
        ((0.0, 0.0, 90.5, 8.0), "bbox north 90.5 is out of range"),
        ((0.0, 0.0, 1.0, 200.0), "bbox east 200 is out of range"),
        ((10.0, 0.0, 5.0, 8.0), "bbox south 10 is north of north 5"),
        ((float("nan"), 0.0, 5.0, 8.0), "bbox south nan is out of range"),
    ],
)
def test_a_refused_bbox_names_the_value_at_fault(bbox, named):
    with pytest.raises(QueryError) as refused:
        PredictionQuery(bbox=bbox)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "named"),
    [({"min_score": 1.5}, "min_score must be between 0 and 1, got 1.5"), ({"limit": 0}, "got 0")],
)
def test_other_refused_filters_name_their_value(changes, named):
    with pytest.raises(QueryError, match=named):
        PredictionQuery(**changes)


def test_the_bbox_refusal_on_the_command_line_names_the_value(capsys):
    code = spotter(["query", "--table", "t", "--bbox", "91,0,92,8"])
    err = capsys.readouterr().err
    assert code == 2 and "bbox south 91 is out of range: a latitude is between -90 and 90" in err, err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("1,2,3", "got 3 in '1,2,3'"),
        ("1,2,x3,4", "bbox north 'x3' is not a number"),
        ("91,0,92,8", "bbox south 91 is out of range: a latitude is between -90 and 90"),
        ("0,0,1,inf", "bbox east inf is out of range"),
    ],
)
def test_the_api_and_the_cli_name_the_bbox_part_at_fault(capsys, text, named):
    from spotter.web.views import query_from_params

    with pytest.raises(QueryError) as refused:
        query_from_params({"bbox": text}, "m@1")
    assert named in str(refused.value)
    code: object
    try:
        code = spotter(["query", "--table", "t", f"--bbox={text}"])
    except SystemExit as exit_:  # argparse's refusal of the value
        code = exit_.code
    assert code == 2 and named in capsys.readouterr().err


def test_tables_show_model_ids_and_numbers_whole(capsys, data, tmp_path):
    out = _sql(capsys, data, "table", "SELECT model, file_name, size FROM predictions ORDER BY size")
    assert LONG_MODEL in out.splitlines()[1] and "…" not in out
    long_text = "x" * 60
    out = _sql(capsys, data, "table", f"SELECT '{long_text}' AS note, 1.{'1' * 45}::DOUBLE AS d")
    assert "x" * 39 + "…" in out  # other long text is still cut to keep the table narrow
    assert repr(1.1111111111111112) in out
    path = tmp_path / "q.txt"
    record = make_record(0, model=LONG_MODEL)
    write([record], "table", path)
    assert LONG_MODEL in path.read_text()  # the query table's model column: the id --model takes


def test_model_short_forms_resolve_when_unambiguous():
    from spotter.results.names import model_short_form, resolve_name

    models = [LONG_MODEL, "skin-lesion-mobilenet-v2-int8@sha256-7b000000000", "hawk@1"]
    assert model_short_form("skin-lesion-mobilenet-v2-int8@sha256-7aad0", models) == LONG_MODEL
    assert model_short_form("sha256-7aad", models) == LONG_MODEL
    assert model_short_form("…@sha256-7aad0…", models) == LONG_MODEL  # pasted from a table that cut it
    assert model_short_form("nothing", models) is None
    with pytest.raises(QueryError, match="more than one model"):
        model_short_form("sha256-7", models)

    def known(field):
        return models, True

    stored, note = resolve_name("model", "SHA256-7AAD0", lambda f, v: False, known)
    assert stored == LONG_MODEL and note and LONG_MODEL in note
    with pytest.raises(QueryError, match="no model"):
        resolve_name("model", "owl@2", lambda f, v: False, known)
