"""A batch scored against the researcher's own diagnoses: one definition of "right", used by the page
(through the API), `spotter score` and the model card's full-resolution check alike.

A diagnoses file is CSV (comma, semicolon or tab), one row per image: a name column (the file name as
chosen, or its key, or its id without the extension) and a truth column; header names are matched
loosely (`file`, `image_id`, `name`...; `truth`, `diagnosis`, `benign_malignant`, `label`...).

Right and wrong: a decided image is right when its decision is its truth, wrong when it is another
label; an `uncertain` or `out_of_domain` image, or one without a decision, is neither, and is counted
apart. Sensitivity and specificity are over the right and wrong ones, with Wilson 95 % intervals.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spotter.records import PredictionRecord

NAME_COLUMNS = ("file_name", "filename", "file", "name", "image", "image_id", "image_name", "key", "id", "isic_id")
TRUTH_COLUMNS = (
    "truth", "diagnosis", "benign_malignant", "ground_truth", "label", "class", "pathology", "dx", "target",
)  # fmt: skip
MAX_TRUTH_ROWS = 20_000
MAX_TRUTH_BYTES = 2 * 1024 * 1024
NOT_ASSESSED = ("uncertain", "out_of_domain")
RIGHT_RULE = "right: the decision is the truth; uncertain and out-of-domain images are neither right nor wrong"


class TruthError(ValueError):
    """A diagnoses file that cannot be read: the message says what to fix."""


def _column_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class TruthTable:
    rows: tuple[tuple[str, str], ...]  # (name as given, truth as given), in file order
    name_column: str
    truth_column: str
    # the file's other truth columns (ISIC's metadata has `diagnosis` and `benign_malignant`): each
    # column's name and its values, row by row
    other_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def for_labels(self, labels: Sequence[str]) -> TruthTable:
        """The table read by the truth column whose values are most often one of `labels` (the first
        in TRUTH_COLUMNS' order on a tie): `diagnosis` of nevus/melanoma loses to `benign_malignant`."""
        if not self.other_columns:
            return self
        folded = {label.casefold() for label in labels}
        columns = [(self.truth_column, tuple(truth for _name, truth in self.rows)), *self.other_columns]
        best, values = max(columns, key=lambda column: sum(v.strip().casefold() in folded for v in column[1]))
        if best == self.truth_column:
            return self
        rest = tuple(column for column in columns if column[0] != best)
        rows = tuple((name, value) for (name, _old), value in zip(self.rows, values, strict=True))
        return TruthTable(rows, self.name_column, best, rest)


def parse_truth_table(text: str) -> TruthTable:
    """The (name, truth) rows of a diagnoses CSV; TruthError naming what is wrong."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TRUTH_BYTES:
        raise TruthError(f"the diagnoses file is over {MAX_TRUTH_BYTES // (1024 * 1024)} MB")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")  # Windows and old Mac line ends
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise TruthError("the diagnoses file is empty: give a header (e.g. file_name,diagnosis) and a row per image")
    if any(ch == "\ufffd" or (ord(ch) < 32 and ch != "\t") for ch in lines[0]):
        raise TruthError(
            "the diagnoses file's first line is not a CSV header (a spreadsheet or an image?): save it as CSV "
            "with a header such as file_name,diagnosis"
        )
    if "\ufffd" in text:  # bytes that were not UTF-8: a name would match nothing, silently
        row = next(number for number, line in enumerate(lines, 1) if "\ufffd" in line)
        raise TruthError(
            f"the diagnoses file is not UTF-8 text (row {row} holds characters that could not be read): "
            "save it as UTF-8 CSV (Excel: 'CSV UTF-8')"
        )
    try:
        dialect: Any = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _read_table(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:  # an unterminated quote, a field past the csv module's limit...
        if "field larger than field limit" in str(exc):
            raise TruthError(
                f"a cell of the diagnoses file is over {csv.field_size_limit():,} characters: is a quote left open?"
            ) from None
        raise TruthError(f"the diagnoses file is not CSV that can be read: {exc}") from None


def _read_table(reader: Any) -> TruthTable:
    header = [_column_key(h) for h in next(reader)]
    name_at = next((header.index(c) for c in NAME_COLUMNS if c in header), None)
    truth_ats = [header.index(c) for c in TRUTH_COLUMNS if c in header and header.index(c) != name_at]
    truth_at = truth_ats[0] if truth_ats else None
    if name_at is None or truth_at is None or name_at == truth_at:
        raise TruthError(
            f"the diagnoses file's header {header} needs a name column ({', '.join(NAME_COLUMNS)}) and a truth "
            f"column ({', '.join(TRUTH_COLUMNS)})"
        )
    rows: list[tuple[str, str]] = []
    others: list[list[str]] = [[] for _ in truth_ats[1:]]
    for line in reader:
        if not any(cell.strip() for cell in line):
            continue
        if len(rows) >= MAX_TRUTH_ROWS:
            raise TruthError(f"the diagnoses file has over {MAX_TRUTH_ROWS:,} rows")
        rows.append((_cell(line, name_at), _cell(line, truth_at)))
        for values, at in zip(others, truth_ats[1:], strict=True):
            values.append(_cell(line, at))
    other_columns = tuple((header[at], tuple(values)) for at, values in zip(truth_ats[1:], others, strict=True))
    return TruthTable(tuple(rows), header[name_at], header[truth_at], other_columns)


def _cell(line: list[str], at: int) -> str:
    """A cell as meant: without the invisible format characters a spreadsheet or a copy from the web
    leaves (zero-width space, byte-order mark, ...) and without surrounding spaces (no-break ones too)."""
    if at >= len(line):
        return ""
    return "".join(ch for ch in line[at] if unicodedata.category(ch) != "Cf").strip()


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def is_right(decision: str | None, truth: str | None, labels: Sequence[str]) -> bool | None:
    """True when the decision is the truth, False when it is another label; None (neither) when the
    image was not assessed (uncertain, out of domain, no decision) or has no truth."""
    if truth is None or decision is None or decision not in labels:
        return None
    return decision == truth


def wilson(successes: int, total: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score 95 % interval of a proportion; None for no trials."""
    if total <= 0:
        return None
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


@dataclass
class BatchScore:
    labels: tuple[str, ...]
    positive: str | None
    matched: int = 0
    unmatched_rows: list[str] = field(default_factory=list)  # names in the file no image has
    unknown_truths: list[tuple[str, str]] = field(default_factory=list)  # (name, truth) not one of the labels
    ambiguous_rows: list[str] = field(default_factory=list)  # names that fit more than one image: not applied
    conflicting_rows: list[str] = field(default_factory=list)  # images given two truths: neither applied
    name_column: str | None = None  # the file's name column, as matched
    truth_column: str | None = None  # the file's truth column, as matched (the one holding the labels)
    kept: set[str] = field(default_factory=set)  # object ids named with an unusable truth: their stored truth stays
    without_truth: list[str] = field(default_factory=list)  # images of the batch the file does not name
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # truth -> decision -> images
    right: int = 0
    wrong: int = 0
    not_assessed: dict[str, int] = field(default_factory=dict)  # uncertain / out_of_domain / other
    per_image: dict[str, bool | None] = field(default_factory=dict)  # object id -> right / wrong / neither
    truths: dict[str, str] = field(default_factory=dict)  # object id -> truth

    def measures(self) -> dict[str, Any]:
        if self.positive is None or len(self.labels) != 2:
            return {}
        negative = next(label for label in self.labels if label != self.positive)
        tp = self.confusion.get(self.positive, {}).get(self.positive, 0)
        fn = self.confusion.get(self.positive, {}).get(negative, 0)
        tn = self.confusion.get(negative, {}).get(negative, 0)
        fp = self.confusion.get(negative, {}).get(self.positive, 0)
        return {
            "sensitivity": round(tp / (tp + fn), 4) if tp + fn else None,
            "sensitivity_ci95": wilson(tp, tp + fn),
            "specificity": round(tn / (tn + fp), 4) if tn + fp else None,
            "specificity_ci95": wilson(tn, tn + fp),
            "assessed_positives": tp + fn,
            "assessed_negatives": tn + fp,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "positive": self.positive,
            "matched": self.matched,
            "right": self.right,
            "wrong": self.wrong,
            "not_assessed": self.not_assessed,
            "confusion": self.confusion,
            **self.measures(),
            "unmatched_rows": self.unmatched_rows,
            "unknown_truths": [{"name": n, "truth": t} for n, t in self.unknown_truths],
            "ambiguous_rows": self.ambiguous_rows,
            "conflicting_rows": self.conflicting_rows,
            "name_column": self.name_column,
            "truth_column": self.truth_column,
            "kept": len(self.kept),
            "without_truth": self.without_truth,
            "per_image": self.per_image,
            "rule": RIGHT_RULE,
        }


def _truth_label(value: str, labels: Sequence[str]) -> str | None:
    folded = {_fold(label): label for label in labels}
    return folded.get(_fold(value.strip()))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def match_truths(table: TruthTable, records: Iterable[PredictionRecord], labels: Sequence[str]) -> BatchScore:
    """Each row matched to one image of the batch: a row holding a `/` by the whole key only; else by
    the name as chosen or the key's last part (without regard to case), else by the id without the
    extension (names compared in Unicode's composed form: macOS writes é decomposed). A row that fits several images (duplicate names, `a` for a.jpg and a.png) is ambiguous
    and not applied; an image given two different truths gets neither. `truths` holds the matches."""
    records = [r for r in records if r.status == "ok"]
    by_key = {_fold(r.key): r for r in records}
    by_name: dict[str, list[PredictionRecord]] = {}
    by_stem: dict[str, list[PredictionRecord]] = {}
    for record in records:
        for name in {_fold(record.file_name), _fold(record.key.rsplit("/", 1)[-1])}:
            by_name.setdefault(name, []).append(record)
        by_stem.setdefault(_fold(_stem(record.file_name)), []).append(record)
    score = BatchScore(labels=tuple(labels), positive=None, name_column=table.name_column)
    given: dict[str, set[str]] = {}
    for name, truth in table.rows:
        folded = _fold(name)
        if "/" in name:
            found = [by_key[folded]] if folded in by_key else []
        else:
            found = list({id(r): r for r in by_name.get(folded, []) or by_stem.get(_fold(_stem(name)), [])}.values())
        if not found:
            score.unmatched_rows.append(name)
            continue
        if len(found) > 1:
            score.ambiguous_rows.append(name)
            continue
        label = _truth_label(truth, labels)
        if label is None:
            score.unknown_truths.append((name, truth))
            score.kept.add(found[0].object_id)
            continue
        given.setdefault(found[0].object_id, set()).add(label)
        score.truths.setdefault(found[0].object_id, label)
    for record in records:
        if len(given.get(record.object_id, ())) > 1:
            score.conflicting_rows.append(record.file_name)
            score.truths.pop(record.object_id, None)
            score.kept.add(record.object_id)
    return score


def score_records(
    records: Iterable[PredictionRecord],
    labels: Sequence[str],
    positive: str | None,
    truths: dict[str, str] | None = None,
) -> BatchScore:
    """The batch's confusion table, right/wrong and measures from each record's truth (`truths` by
    object id, else the records' stored `truth`)."""
    score = BatchScore(labels=tuple(labels), positive=positive)
    not_assessed: Counter[str] = Counter()
    for record in records:
        if record.status != "ok":
            continue
        truth = (truths or {}).get(record.object_id) if truths is not None else record.truth
        if truth is None:
            score.without_truth.append(record.file_name)
            continue
        score.matched += 1
        score.truths[record.object_id] = truth
        decision = record.decision if record.decision is not None else record.label
        score.confusion.setdefault(truth, {}).setdefault(str(decision), 0)
        score.confusion[truth][str(decision)] += 1
        verdict = is_right(decision, truth, labels)
        score.per_image[record.object_id] = verdict
        if verdict is True:
            score.right += 1
        elif verdict is False:
            score.wrong += 1
        else:
            not_assessed[str(decision)] += 1
    score.not_assessed = dict(not_assessed)
    return score


def score_batch(
    table: TruthTable, records: Sequence[PredictionRecord], labels: Sequence[str], positive: str | None
) -> BatchScore:
    """`match_truths` then `score_records`: the whole answer for a diagnoses file and a batch."""
    table = table.for_labels(labels)
    matched = match_truths(table, records, labels)
    score = score_records(records, labels, positive, matched.truths)
    score.unmatched_rows, score.unknown_truths = matched.unmatched_rows, matched.unknown_truths
    score.ambiguous_rows, score.conflicting_rows = matched.ambiguous_rows, matched.conflicting_rows
    score.name_column, score.kept, score.truth_column = matched.name_column, matched.kept, table.truth_column
    return score
