"""`spotter export`: the whole predictions table (parallel scan) as Parquet or CSV."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from spotter.cli.query import (
    STDOUT,
    add_excel_argument,
    check_output,
    model_version,
    say_spanned,
    with_model_rule,
    with_stored_names,
)
from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.ports import PredictionQueries
from spotter.records import PredictionRecord
from spotter.results.query import PredictionQuery, QueryError
from spotter.results.tabular import write
from spotter.results.versions import is_all


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("export", help="export every prediction to Parquet or CSV")
    parser.add_argument("--format", choices=("parquet", "csv", "jsonl"), default="parquet")
    parser.add_argument(
        "--output",
        type=Path,
        help="file to write (default spotter-predictions.<format>); - is standard output (csv, jsonl)",
    )
    add_excel_argument(parser)
    parser.add_argument(
        "--model",
        type=model_version,
        help="this model version (name@version), or 'all' for every version; default: the one the stack serves "
        "(known for the local stack and a --stack; elsewhere every version, and a note says when they are several)",
    )
    parser.add_argument("--segments", type=int, default=4, help="parallel scan segments (default 4)")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def summary(records: Iterable[PredictionRecord]) -> list[str]:
    groups: dict[str, list[float]] = defaultdict(list)
    for record in records:
        name = record.label if record.status == "ok" and record.label else f"({record.status})"
        groups[name].append(record.score or 0.0)
    return [
        f"{name}: {len(scores)} record{'' if len(scores) == 1 else 's'}"
        + (f", mean score {sum(scores) / len(scores):.3f}" if not name.startswith("(") else "")
        for name, scores in sorted(groups.items(), key=lambda kv: -len(kv[1]))
    ]


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import resource
    from spotter.adapters.dynamodb import DynamoPredictionQueries

    output = args.output or Path(f"spotter-predictions.{args.format}")
    try:
        check_output(output, args.format, args.excel)
        target = resolve(args)
        require(target, "table")
    except (TargetError, QueryError) as exc:
        print(f"spotter export: {exc}", file=sys.stderr)
        return 2
    queries = DynamoPredictionQueries(resource("dynamodb").Table(target.table))
    try:
        model = _model(args, target.model, queries)
    except QueryError as exc:
        print(f"spotter export: {exc}", file=sys.stderr)
        return 2
    records = [r for r in queries.scan_all(max(1, args.segments)) if model is None or r.model == model]
    records.sort(key=lambda r: (r.uploaded_at, r.key, r.model))
    try:
        write(records, args.format, output, excel=args.excel)
    except BrokenPipeError:
        raise  # a reader such as `head` stopped early: main() ends quietly, as Unix tools do
    except OSError as exc:
        print(f"spotter export: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(records)} records to {'standard output' if str(output) == STDOUT else output}", file=sys.stderr)
    for line in summary(records):
        print(f"  {line}", file=sys.stderr)
    say_spanned((r.model for r in records), "export", served=None if args.model else target.model)
    return 0


def _model(args: argparse.Namespace, served: str | None, queries: PredictionQueries) -> str | None:
    """The model version to export (None: every one), by the readers' one rule (`with_model_rule`);
    a named one as the table spells it."""
    query = PredictionQuery(model=None if is_all(args.model) else args.model)
    if query.model:
        query = with_stored_names(query, queries, "export")
    return with_model_rule(query, args, served, "export").model
