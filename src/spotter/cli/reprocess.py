"""`spotter reprocess`: re-classify stored images with the model the classify function now serves."""

from __future__ import annotations

import sys

from ..records import normalise_time
from .target import TargetError, add_target_arguments, require, resolve


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reprocess", help="queue stored images for classification again (results are kept per model version)")
    parser.add_argument("--source", help="only this drone/camera ('web' for page uploads)")
    parser.add_argument("--batch", help="only this batch")
    parser.add_argument("--since", help="only objects stored at or after this time (ISO 8601)")
    parser.add_argument("--until", help="only objects stored before this time")
    parser.add_argument("--dry-run", action="store_true", help="count, queue nothing")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..adapters.aws import client
    from ..adapters.s3 import S3Folder
    from ..reprocess import in_window, notification, prefixes_for

    try:
        target = resolve(args)
        require(target, "bucket", "queue_url")
        since = normalise_time(args.since) if args.since else None
        until = normalise_time(args.until) if args.until else None
        if (args.since and not since) or (args.until and not until):
            raise ValueError("--since/--until take ISO 8601 dates or times")
    except (TargetError, ValueError) as exc:
        print(f"spotter reprocess: {exc}", file=sys.stderr)
        return 2
    folder, sqs = S3Folder(client("s3"), target.bucket), client("sqs")
    pending, queued = [], 0

    def flush():
        nonlocal queued
        if not pending:
            return
        result = sqs.send_message_batch(QueueUrl=target.queue_url,
                                        Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(pending)])
        if result.get("Failed"):
            raise RuntimeError(f"SQS refused {len(result['Failed'])} messages: {result['Failed'][0]}")
        queued += len(pending)
        pending.clear()

    matched = 0
    for prefix in prefixes_for(args.source, args.batch):
        for key, size, etag, modified in folder.list(prefix):
            if not in_window(modified, since, until):
                continue
            matched += 1
            if not args.dry_run:
                pending.append(notification(target.bucket, key, size, etag, modified))
                if len(pending) == 10:
                    flush()
    if not args.dry_run:
        flush()
    verb = "would queue" if args.dry_run else "queued"
    print(f"{verb} {matched if args.dry_run else queued} images for classification ({target.description})", file=sys.stderr)
    return 0
