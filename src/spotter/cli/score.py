"""`spotter score BATCH --labels FILE`: a batch against the researcher's own diagnoses, as the page does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spotter.cli.query import model_version, with_model_rule
from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.files import read_regular
from spotter.records import PredictionRecord
from spotter.results.query import PredictionQuery, QueryError
from spotter.results.scoring import MAX_TRUTH_BYTES, BatchScore, TruthError, parse_truth_table, score_batch
from spotter.results.stats import matching_records, positive_label


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score a batch against your own diagnoses: confusion table, sensitivity, specificity",
        description="Matches each row of a diagnoses CSV (a name column: file name, key or image id; a truth "
        "column: diagnosis, truth, benign_malignant...) to the batch's images, and prints the confusion "
        "table of truth against decision, sensitivity and specificity with 95 %% intervals, uncertain and "
        "out-of-domain images apart, the rows that matched nothing and the images without a truth. "
        "Right means the decision is the truth, as on the page. --save stores the truths with the records "
        "(`truth`), as the page does.",
    )
    parser.add_argument("batch", metavar="BATCH", help="a web batch (the page's), or with --source a drone's folder")
    parser.add_argument("--labels", type=Path, required=True, help="the diagnoses CSV")
    parser.add_argument("--source", help="a drone, for a drone folder's batch")
    parser.add_argument(
        "--model", type=model_version, help="this model version (name@version); default: the one served now"
    )
    parser.add_argument("--save", action="store_true", help="store each matched image's truth on its record")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def _labels(records: list[PredictionRecord]) -> tuple[tuple[str, ...], str | None]:
    """The card's labels and positive label as the records tell them (their scores and decision rule)."""
    labels: set[str] = set()
    for record in records:
        labels.update(str(t["label"]) for t in record.top or [])
        if record.label:
            labels.add(record.label)
    positives = {positive_label(r) for r in records if r.decision_rule} - {None}
    positive = next(iter(positives)) if len(positives) == 1 else None
    return tuple(sorted(labels)), positive


def _table(score: BatchScore) -> str:
    decisions = sorted({d for row in score.confusion.values() for d in row})
    truths = sorted(score.confusion)
    width = max([len("truth \\ decision"), *map(len, truths)]) + 2
    lines = ["truth \\ decision".ljust(width) + "".join(d.rjust(max(len(d), 5) + 2) for d in decisions)]
    for truth in truths:
        row = score.confusion[truth]
        lines.append(truth.ljust(width) + "".join(str(row.get(d, 0)).rjust(max(len(d), 5) + 2) for d in decisions))
    measures = score.measures()
    lines.append("")
    lines.append(
        f"right {score.right}, wrong {score.wrong}, not assessed {sum(score.not_assessed.values())}"
        + (f" ({', '.join(f'{n} {k}' for k, n in sorted(score.not_assessed.items()))})" if score.not_assessed else "")
    )
    for name in ("sensitivity", "specificity"):
        value, interval = measures.get(name), measures.get(f"{name}_ci95")
        if name in measures:
            shown = (
                "n/a"
                if value is None or interval is None
                else f"{value:.3f} (95 % CI {interval[0]:.3f}-{interval[1]:.3f})"
            )
            lines.append(f"{name} ({score.positive} as positive): {shown}")
    lines.append("right: the decision is the truth; uncertain and out-of-domain images are neither right nor wrong")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries, DynamoPredictions

    try:
        text = read_regular(args.labels, MAX_TRUTH_BYTES, "diagnoses file").decode("utf-8-sig")
        table = parse_truth_table(text)
        target = resolve(args)
        require(target, "table")
        query = with_model_rule(
            PredictionQuery(batch=args.batch, source=args.source, model=args.model, limit=1000),
            args,
            target.model,
            "score",
        )
    except (TruthError, TargetError, QueryError) as exc:
        print(f"spotter score: {exc}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(f"spotter score: cannot read {args.labels}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    table_resource = resource("dynamodb").Table(target.table)
    records = list(matching_records(DynamoPredictionQueries(table_resource).query, query))
    if not records:
        print(
            f"spotter score: no records in batch {args.batch}{' of ' + args.source if args.source else ''}",
            file=sys.stderr,
        )
        return 1
    if len({r.model for r in records}) > 1:
        print("spotter score: the batch has records from several model versions: give --model", file=sys.stderr)
        return 2
    labels, positive = _labels(records)
    score = score_batch(table, records, labels, positive)
    if args.save:
        store = DynamoPredictions(table_resource)
        changed = sum(
            store.set_truth(r.object_id, r.model, score.truths.get(r.object_id))
            for r in records
            if score.truths.get(r.object_id) != r.truth
        )
        print(f"spotter score: {changed} records' truth stored", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(json.dumps({"batch": args.batch, **score.as_dict()}, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_table(score))
    print(
        f"spotter score: names from column {score.name_column}, truths from column {score.truth_column}",
        file=sys.stderr,
    )
    for what, names in (
        ("rows that matched no image", score.unmatched_rows),
        ("images without a truth", score.without_truth),
    ):
        if names:
            print(
                f"spotter score: {len(names)} {what}: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}",
                file=sys.stderr,
            )
    if score.unknown_truths:
        shown = ", ".join(f"{n}={t!r}" for n, t in score.unknown_truths[:10])
        print(
            f"spotter score: {len(score.unknown_truths)} rows whose truth is not a label ({', '.join(labels)}): {shown}",
            file=sys.stderr,
        )
    return 0
