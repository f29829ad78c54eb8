"""`spotter reprocess`: re-classify stored images with the model the classify function now serves."""

from __future__ import annotations

import json
import sys

from ..records import normalise_time, object_id_for
from .target import TargetError, add_target_arguments, require, resolve


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reprocess", help="queue stored images for classification again (results are kept per model version)")
    parser.add_argument("--source", help="only this drone/camera ('web' for page uploads)")
    parser.add_argument("--batch", help="only this batch")
    parser.add_argument("--since", help="only objects stored at or after this time (ISO 8601)")
    parser.add_argument("--until", help="only objects stored before this time")
    parser.add_argument("--dry-run", action="store_true", help="count, queue nothing")
    parser.add_argument("--force", action="store_true",
                        help="also images that already have a record from the model now served, for the same content "
                             "(same model version: the result will not change)")
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

    matched = [(key, size, etag, modified) for prefix in prefixes_for(args.source, args.batch)
               for key, size, etag, modified in folder.list(prefix) if in_window(modified, since, until)]
    # The model the classify function serves is known for the local stack (local.json). An image that
    # already has that model's record for its current content would get the same answer again, and the
    # idempotency utility would skip a second delivery anyway: say so instead of queueing in silence.
    unchanged = set()
    if target.model and target.table and matched:
        unchanged = _already_classified(client("dynamodb"), target, matched)
    chosen = [m for m in matched if args.force or m[0] not in unchanged]
    if args.force and unchanged and not args.dry_run:
        _forget_deliveries(client("dynamodb"), target, {object_id_for(target.bucket, m[0]) for m in matched
                                                        if m[0] in unchanged})
    if not args.dry_run:
        for key, size, etag, modified in chosen:
            pending.append(notification(target.bucket, key, size, etag, modified))
            if len(pending) == 10:
                flush()
        flush()
    model = f" with {target.model}" if target.model else ""
    verb = "would queue" if args.dry_run else "queued"
    line = f"{verb} {len(chosen) if args.dry_run else queued} images for classification{model} ({target.description})"
    if unchanged and not args.force:
        if chosen:
            line += (f"; {len(unchanged)} others already have a record from {target.model} for their current content, "
                     "so nothing would change for them: not queued (--force classifies them again)")
        else:
            line = (f"nothing changed: all {len(unchanged)} matching images already have a record from {target.model} "
                    f"for their current content; nothing {'would be ' if args.dry_run else ''}queued "
                    "(--force classifies them again; a different model: spotter up --model PATH, then reprocess)")
    elif unchanged and args.force:
        line += f", {len(unchanged)} of them again under the same model version"
    if not matched:
        line = f"no stored images match ({target.description}): nothing queued"
    print(line, file=sys.stderr)
    return 0


def _already_classified(dynamodb, target, matched) -> set:
    """Keys whose record from `target.model` exists and was made from the object's current ETag."""
    ids = {object_id_for(target.bucket, key): (key, etag) for key, _, etag, _ in matched}
    found = set()
    wanted = [{"object_id": {"S": object_id}, "model": {"S": target.model}} for object_id in ids]
    for start in range(0, len(wanted), 100):
        request = {target.table: {"Keys": wanted[start:start + 100], "ProjectionExpression": "object_id, etag"}}
        while request:
            reply = dynamodb.batch_get_item(RequestItems=request)
            for item in reply.get("Responses", {}).get(target.table, []):
                key, etag = ids[item["object_id"]["S"]]
                if item.get("etag", {}).get("S", "").strip('"') == (etag or "").strip('"'):
                    found.add(key)
            request = reply.get("UnprocessedKeys") or None
    return found


def _forget_deliveries(dynamodb, target, object_ids: set) -> None:
    """--force: the classify function's idempotency records for these objects, deleted so that the new
    deliveries are classified instead of skipped as duplicates (local stack: its table is in local.json)."""
    if not target.idempotency_table:
        print("note: where the classify function already handled the same delivery within 24 h, its idempotency "
              "record makes it skip this one", file=sys.stderr)
        return
    pages = dynamodb.get_paginator("scan").paginate(TableName=target.idempotency_table,
                                                    ProjectionExpression="id, #d", ExpressionAttributeNames={"#d": "data"})
    for page in pages:
        for item in page.get("Items", []):
            try:
                result = json.loads(item.get("data", {}).get("S", "null"))
            except ValueError:
                continue
            if isinstance(result, dict) and result.get("object_id") in object_ids:
                dynamodb.delete_item(TableName=target.idempotency_table, Key={"id": item["id"]})
