"""`spotter query`: filter the predictions table on its indexes; print or save the result."""

from __future__ import annotations

import sys
from pathlib import Path

from ..query import PredictionQuery, QueryError
from ..records import normalise_time
from ..tabular import FORMATS, write
from .target import TargetError, add_target_arguments, require, resolve


def _time(value: str) -> str:
    normalised = normalise_time(value)
    if normalised is None:
        raise ValueError(f"not an ISO 8601 date or time: {value!r}")
    return normalised


def _bbox(value: str) -> tuple[float, float, float, float]:
    parts = [float(v) for v in value.split(",")]
    if len(parts) != 4:
        raise ValueError("bbox is SOUTH,WEST,NORTH,EAST")
    return tuple(parts)


def register(subparsers) -> None:
    parser = subparsers.add_parser("query", help="query predictions by label, source, batch, time, score, place")
    parser.add_argument("--label")
    parser.add_argument("--source", help="drone/camera name, or 'web' for page uploads")
    parser.add_argument("--batch", help="a web upload batch; with --source DRONE, that drone's folder "
                                        "(drones/DRONE/FOLDER/)")
    parser.add_argument("--status", choices=("ok", "rejected"))
    parser.add_argument("--since", type=_time, help="uploaded at or after (ISO 8601 date or time, UTC if no offset)")
    parser.add_argument("--until", type=_time, help="uploaded before")
    parser.add_argument("--captured-since", type=_time, help="EXIF capture time at or after")
    parser.add_argument("--captured-until", type=_time, help="EXIF capture time before")
    parser.add_argument("--min-score", type=float)
    parser.add_argument("--max-score", type=float)
    parser.add_argument("--bbox", type=_bbox, help="SOUTH,WEST,NORTH,EAST in degrees (GPS from EXIF)")
    parser.add_argument("--model", help="only this model (name@version); default: every version")
    parser.add_argument("--limit", type=int, default=0, help="at most this many records (default: all)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", type=Path, help="write to a file (required for parquet)")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..adapters.aws import resource
    from ..adapters.dynamodb import DynamoPredictionQueries

    try:
        target = resolve(args)
        require(target, "table")
        query = PredictionQuery(
            batch=args.batch, source=args.source, label=args.label, status=args.status, since=args.since,
            until=args.until, captured_since=args.captured_since, captured_until=args.captured_until,
            min_score=args.min_score, max_score=args.max_score, bbox=args.bbox, model=args.model,
            limit=min(1000, args.limit) if args.limit else 1000,
        )
    except (TargetError, QueryError, ValueError) as exc:
        print(f"spotter query: {exc}", file=sys.stderr)
        return 2
    queries = DynamoPredictionQueries(resource("dynamodb").Table(target.table))
    records = []
    while True:
        page, cursor = queries.query(query)
        records += page
        if not cursor or (args.limit and len(records) >= args.limit):
            break
        query = query.replace(cursor=cursor)
    if args.limit:
        records = records[: args.limit]
    write(records, args.format, args.output)
    if args.output:
        print(f"wrote {len(records)} records to {args.output}", file=sys.stderr)
    return 0
