"""Request and reply bounds, and the CSV writer, without AWS: the use cases with their ports faked."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotter.records import PredictionRecord
from spotter.results.export import csv_cell, to_csv
from spotter.results.query import PredictionQuery
from spotter.web.access import Caller
from spotter.web.responses import csv_pages, json_page
from spotter.web.uploads import (
    MAX_JSON_DEPTH,
    PlannedUpload,
    RefusedFile,
    UploadRequestError,
    normalise_type,
    parse_body,
    parse_files,
    plan_uploads,
)

FAST = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def record(i: int, name: str = "x.jpg", key: str | None = None, batch: str | None = "b1") -> PredictionRecord:
    return PredictionRecord(
        object_id=f"{i:032d}",
        model="m@1",
        bucket="bk",
        key=key or f"uploads/{batch}/{i}-{name}",
        status="ok",
        source="web",
        file_name=name,
        uploaded_at="2026-11-29T00:00:00.000Z",
        classified_at="2026-11-29T00:00:01.000Z",
        model_name="m",
        model_version="1",
        batch=batch,
    )


class FakeQueries:
    """The query port over a list, paged by `limit` with the index as the cursor."""

    def __init__(self, records: list[PredictionRecord]):
        self.records = records
        self.calls: list[PredictionQuery] = []

    def query(self, query: PredictionQuery):
        self.calls.append(query)
        start = int(query.cursor or 0)
        page = self.records[start : start + query.limit]
        end = start + len(page)
        return page, (str(end) if end < len(self.records) else None)


# ---- CSV --------------------------------------------------------------------------------------


@FAST
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_names_round_trip_through_the_csv_writer_with_the_same_row_count(names):
    records = [record(i, name) for i, name in enumerate(names)]
    rows = list(csv.DictReader(io.StringIO(to_csv(records, formula_guard=True), newline="")))
    assert len(rows) == len(records)
    assert [r["file_name"] for r in rows] == [csv_cell(n) if n else "" for n in names]


@pytest.mark.parametrize("name", ["a\rb", "a\nb", "a\r\nb", 'a"b', "a,b", "\r=1+1", "=cmd", "+1", "@x", "-2"])
def test_fields_with_breaks_quotes_or_commas_are_quoted_and_formulas_escaped(name):
    text = to_csv([record(0, name)], formula_guard=True)  # the API's download, for spreadsheets
    unquoted = "".join(part for i, part in enumerate(text.split('"')) if i % 2 == 0)
    assert unquoted.count("\r\n") == 2 and "\r" not in unquoted.replace("\r\n", "")  # only the two line ends
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    assert row["file_name"] == (("'" + name) if name[0] in "=+-@\r" else name)


# ---- request bodies ---------------------------------------------------------------------------


def test_a_body_nested_too_deep_is_refused_without_recursing():
    for body in ("[" * 100_000 + "]" * 100_000, '{"files": [{"name": {"a": [1]}}]}'):
        with pytest.raises(UploadRequestError, match="nested deeper"):
            parse_body(body)
    assert parse_body('{"files": [{"name": "a", "type": "image/png", "size": 1}]}')
    assert MAX_JSON_DEPTH >= 3


@pytest.mark.parametrize(
    "declared, expected",
    [
        ("image/png", "image/png"),
        ("Image/PNG", "image/png"),
        ("image/png; charset=binary", "image/png"),
        ('image/png; x="a;b"', None),
        ("", ""),
    ],
)
def test_declared_types_are_normalised(declared, expected):
    if expected is None:
        with pytest.raises(UploadRequestError):
            normalise_type(declared)
    else:
        assert normalise_type(declared) == expected


def test_planned_uploads_carry_the_canonical_raster_type():
    files, _ = parse_files(
        {
            "files": [
                {"name": "a.jpg", "type": "image/jpg", "size": 5},
                {"name": "b.html", "type": "text/html", "size": 5},
                {"name": "c.heic", "type": "", "size": 5},
            ]
        }
    )
    planned, html, heic = plan_uploads(files, "b1", "bk", 100)
    assert isinstance(planned, PlannedUpload) and isinstance(html, RefusedFile) and isinstance(heic, RefusedFile)
    assert planned.content_type == "image/jpeg"
    assert "text/html, not a raster image" in html.error
    assert "HEIC" in heic.error and "JPEG" in heic.error


def test_a_non_string_type_is_a_clear_error():
    with pytest.raises(UploadRequestError, match='"type" must be a string'):
        parse_files({"files": [{"name": "a.jpg", "type": ["image/png"], "size": 5}]})


# ---- reply budgets ----------------------------------------------------------------------------


def _render(r: PredictionRecord) -> dict:
    return {"file_name": r.file_name}


def test_a_json_page_over_the_budget_comes_in_smaller_pages_and_skips_nothing():
    records = [record(i, f"{i:04d}" + "n" * 996) for i in range(100)]  # ~1 KB each
    fake = FakeQueries(records)
    query, seen, replies = PredictionQuery(limit=100), [], 0
    while True:
        reply = json_page(fake.query, query, _render, budget=30_000)
        assert len(json.dumps(reply).encode()) <= 30_000
        seen += [item["file_name"] for item in reply["items"]]
        replies += 1
        if not reply["next"]:
            break
        query = query.replace(cursor=reply["next"])
    assert seen == [r.file_name for r in records] and replies >= 4


def test_a_json_page_is_measured_as_sent_with_escapes():
    records = [record(i, f"{i:04d}" + "\U0001f600" * 100) for i in range(100)]  # 12 bytes each once escaped
    reply = json_page(FakeQueries(records).query, PredictionQuery(limit=100), _render, budget=60_000)
    assert reply["next"] and len(json.dumps(reply).encode()) <= 60_000
    assert len(json.dumps(reply, separators=(",", ":")).encode()) <= 60_000  # as Powertools writes it


def test_csv_replies_stop_at_a_whole_page_under_the_budget():
    records = [record(i, f"{i:04d}" + "n" * 996) for i in range(60)]
    fake = FakeQueries(records)
    query, names = PredictionQuery(limit=10), []
    while True:
        body, cursor = csv_pages(fake.query, query, budget=25_000)
        assert len(body.encode()) <= 25_000
        names += [row["file_name"] for row in csv.DictReader(io.StringIO(body, newline=""))]
        if not cursor:
            break
        query = query.replace(cursor=cursor)
    assert names == [r.file_name for r in records]


# ---- batch ownership --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, prefix",
    [
        (PredictionQuery(batch="b1"), "uploads/b1/"),
        (PredictionQuery(batch="b1", source="web"), "uploads/b1/"),
        (PredictionQuery(batch="flight/2", source="scout"), "drones/scout/flight/2/"),
        (PredictionQuery(source="scout"), None),
    ],
)
def test_a_batch_names_a_web_batch_unless_a_drone_is_named(query, prefix):
    assert query.key_prefix == prefix


def test_a_researcher_never_reads_a_drone_record_filed_under_their_batch():
    researcher = Caller.from_claims({"sub": "alice"})
    batch = researcher.batch_for_upload("trip")
    own = record(1, batch=batch)
    planted = record(2, key=f"drones/{batch}/{batch}/x.jpg", batch=batch)
    assert researcher.may_read(own) and not researcher.may_read(planted)


def test_the_terminal_table_shows_the_decision_beside_the_raw_label():
    from spotter.results.tabular import write_table

    flagged = record(1, "nevus.jpg")
    flagged.label, flagged.score, flagged.decision = "benign", 0.75, "malignant"  # a threshold below 0.5
    out = io.StringIO()
    write_table([flagged], out)
    header, row = out.getvalue().splitlines()[:2]
    assert header.split()[3:6] == ["status", "decision", "label"]
    assert row.split()[3:6] == ["ok", "malignant", "benign"]
    # with the card's rule: the positive score the decision was taken on, and the threshold, beside it
    flagged.decision_rule = "malignant if its score >= 0.074; uncertain 0.046-0.117"
    flagged.positive_score = 0.25
    out = io.StringIO()
    write_table([flagged], out)
    header, row = out.getvalue().splitlines()[:2]
    assert header.split()[3:8] == ["status", "decision", "positive_score", "threshold", "label"]
    assert row.split()[3:8] == ["ok", "malignant", "0.25", "0.074", "benign"]
