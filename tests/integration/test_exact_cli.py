"""Issue 28, items 5 and 8 end to end against the table in moto: `spotter stats` and `spotter query` write
plain CSV unless --excel, show model ids whole in their tables, and take a model's short form."""

import csv
import io

from records_helpers import make_record

from spotter.adapters.dynamodb import DynamoPredictions
from spotter.cli import main as spotter

LONG_MODEL = "skin-lesion-mobilenet-v2-int8@sha256-7aad0c1b2d3e"


def _seed(stack):
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    for i in range(3):
        DynamoPredictions(table).put(make_record(i, source="-10m", model=LONG_MODEL, file_name=f"-{i}m_north.jpg"))
    DynamoPredictions(table).put(make_record(9, source="owl", model="m@1"))
    return stack.spec.predictions.name


def _run(argv, capsys):
    code = spotter(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def test_stats_and_query_csv_are_plain_unless_excel(stack, capsys):
    name = _seed(stack)
    out, _ = _run(["stats", "--table", name, "--by", "source", "--model", "all", "--format", "csv"], capsys)
    assert {r["source"] for r in csv.DictReader(io.StringIO(out))} == {"-10m", "owl"}
    out, _ = _run(["stats", "--table", name, "--by", "source", "--model", "all", "--format", "csv", "--excel"], capsys)
    assert {r["source"] for r in csv.DictReader(io.StringIO(out.lstrip("\ufeff")))} == {"'-10m", "owl"}
    out, _ = _run(["query", "--table", name, "--source", "-10m", "--format", "csv", "--output", "-"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted(r["file_name"] for r in rows) == ["-0m_north.jpg", "-1m_north.jpg", "-2m_north.jpg"]


def test_tables_show_whole_model_ids_that_model_takes_back_and_short_forms_too(stack, capsys):
    name = _seed(stack)
    out, _ = _run(["stats", "--table", name, "--by", "model", "--model", "all"], capsys)
    assert LONG_MODEL in out and "…" not in out
    out, _ = _run(["query", "--table", name, "--source", "-10m"], capsys)
    assert out.count(LONG_MODEL) == 3
    for short in ("sha256-7aad0", "…@sha256-7aad0…", "SKIN-LESION"):
        out, err = _run(["query", "--table", name, "--model", short, "--format", "csv", "--output", "-"], capsys)
        assert {r["model"] for r in csv.DictReader(io.StringIO(out))} == {LONG_MODEL}, (short, err)
        assert f"matched as '{LONG_MODEL}'" in err
