"""`spotter reprocess`: re-classify stored images with the model the classify function now serves."""

from __future__ import annotations

import argparse
import sys

from spotter.cli.target import TargetError, add_target_arguments, require, resolve
from spotter.records import normalise_time


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reprocess", help="queue stored images for classification again (results are kept per model version)"
    )
    parser.add_argument("--source", help="only this drone/camera ('web' for page uploads)")
    parser.add_argument("--batch", help="only this batch")
    parser.add_argument("--since", help="only objects stored at or after this time (ISO 8601)")
    parser.add_argument("--until", help="only objects stored before this time")
    parser.add_argument("--dry-run", action="store_true", help="count, queue nothing")
    parser.add_argument(
        "--force",
        action="store_true",
        help="also images that already have a record from the model now served, for the same content "
        "(same model version: the result will not change)",
    )
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import client
    from spotter.adapters.dynamodb_records import DynamoRecordReader
    from spotter.adapters.s3 import S3Folder
    from spotter.adapters.sqs import SqsQueue
    from spotter.ops.reprocess import (
        already_classified,
        matching_objects,
        queue_for_classification,
        with_recorded_uploads,
    )

    try:
        target = resolve(args)
        bucket, queue_url = require(target, "bucket", "queue_url")
        since = normalise_time(args.since) if args.since else None
        until = normalise_time(args.until) if args.until else None
        if (args.since and not since) or (args.until and not until):
            raise ValueError("--since/--until take ISO 8601 dates or times")
    except (TargetError, ValueError) as exc:
        print(f"spotter reprocess: {exc}", file=sys.stderr)
        return 2
    folder = S3Folder(client("s3"), bucket)
    matched = matching_objects(folder, args.source, args.batch, since, until)
    # The model the classify function serves is known for the local stack (local.json). An image that
    # already has that model's record for its current content would get the same answer again: say so
    # instead of queueing in silence.
    unchanged: set[str] = set()
    if target.model and target.table and matched:
        unchanged = already_classified(
            DynamoRecordReader(client("dynamodb"), target.table), bucket, target.model, matched
        )
    chosen = [m for m in matched if args.force or m.key not in unchanged]
    if chosen and target.table and not args.dry_run:  # the first record's version and millisecond upload time
        chosen = with_recorded_uploads(DynamoRecordReader(client("dynamodb"), target.table), bucket, chosen)
    queued = 0 if args.dry_run else queue_for_classification(SqsQueue(client("sqs"), queue_url), bucket, chosen)
    carried = 0
    if target.model and target.table and not args.dry_run:  # refused files: never stored, so not queued
        from spotter.adapters.aws import resource
        from spotter.adapters.dynamodb import DynamoPredictionQueries, DynamoPredictions
        from spotter.results.versions import carry_refusals

        table = resource("dynamodb").Table(target.table)
        carried = carry_refusals(
            DynamoPredictionQueries(table).query, DynamoPredictions(table), target.model, args.source, args.batch,
            since, until,
        )  # fmt: skip
    model = f" with {target.model}" if target.model else ""
    verb = "would queue" if args.dry_run else "queued"
    line = f"{verb} {len(chosen) if args.dry_run else queued} images for classification{model} ({target.description})"
    if unchanged and not args.force:
        if chosen:
            line += (
                f"; {len(unchanged)} others already have a record from {target.model} for their current content, "
                "so nothing would change for them: not queued (--force classifies them again)"
            )
        else:
            line = (
                f"nothing changed: all {len(unchanged)} matching images already have a record from {target.model} "
                f"for their current content; nothing {'would be ' if args.dry_run else ''}queued "
                "(--force classifies them again; a different model: spotter up --model PATH, then reprocess)"
            )
    elif unchanged and args.force:
        line += f", {len(unchanged)} of them again under the same model version"
    if not matched:
        line = f"no stored images match ({target.description}): nothing queued"
    if carried:
        line += f"; {carried} refused files listed under {target.model} too (their batches still list them)"
    print(line, file=sys.stderr)
    return 0
