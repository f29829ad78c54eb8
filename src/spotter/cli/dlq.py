"""`spotter dlq`: show dead-lettered messages with their reasons; redrive the ones worth retrying."""

from __future__ import annotations

import sys

from .target import TargetError, add_target_arguments, require, resolve


def register(subparsers) -> None:
    parser = subparsers.add_parser("dlq", help="show dead-lettered messages and redrive them")
    parser.add_argument("--redrive", action="store_true", help="send retryable messages back to the classify queue")
    parser.add_argument("--all", action="store_true", help="with --redrive: also messages that will fail again")
    parser.add_argument("--dlq-url", help="dead-letter queue URL (default: from the target)")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def _drain_view(sqs, url: str, hold_s: int) -> list[dict]:
    """Receive every message once, holding each invisible for `hold_s` (none is deleted)."""
    seen: dict[str, dict] = {}
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    VisibilityTimeout=hold_s, AttributeNames=["All"]).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return list(seen.values())
        seen.update({m["MessageId"]: m for m in fresh})


ARCHIVED = {"GLACIER", "DEEP_ARCHIVE"}


def permanent_reason(head: dict | None, key: str) -> str | None:
    """Why redriving this object cannot help, from its HEAD (None: it might); never guesses retryable."""
    if head is None:
        return None
    if head.get("ContentLength") == 0 and (key.endswith("/") or key.endswith("_$folder$")):
        return "a zero-byte folder marker: nothing to classify"
    restore = head.get("Restore") or ""
    archived = head.get("StorageClass") in ARCHIVED or head.get("ArchiveStatus")
    if archived and 'ongoing-request="false"' not in restore:
        return (f"archived in S3 storage class {head.get('StorageClass') or head.get('ArchiveStatus')}: unreadable "
                "until restored (then `spotter reprocess`); redriving cannot help")
    return None


def diagnose_with_heads(body: str, count: int, exists, head):
    """`dead_letters.diagnose`, but an object that S3 will never let the function read (archived, a
    folder marker) makes the message permanent, not retryable."""
    from ..dead_letters import Diagnosis, diagnose
    from ..errors import MalformedEvent
    from ..events import objects_in_message

    diagnosis = diagnose(body, count, exists)
    if not diagnosis.retryable:
        return diagnosis
    try:
        objects = objects_in_message(body)
    except MalformedEvent:
        return diagnosis
    reasons = [permanent_reason(head(obj.bucket, obj.key), obj.key) for obj in objects]
    if reasons and all(reasons):
        return Diagnosis(reason="; ".join(sorted(set(reasons))), keys=diagnosis.keys, retryable=False)
    return diagnosis


def run(args) -> int:
    from botocore.exceptions import ClientError

    from ..adapters.aws import client

    try:
        target = resolve(args)
        dlq_url = args.dlq_url or target.dead_letter_queue_url
        if not dlq_url:
            raise TargetError("no dead-letter queue URL: pass --dlq-url")
        if args.redrive:
            require(target, "queue_url")
    except TargetError as exc:
        print(f"spotter dlq: {exc}", file=sys.stderr)
        return 2
    sqs, s3 = client("sqs"), client("s3")

    def exists(bucket: str, key: str) -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def head(bucket: str, key: str) -> dict | None:
        try:
            return s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            return None

    messages = _drain_view(sqs, dlq_url, hold_s=30)
    print(f"{len(messages)} dead-lettered message{'s' if len(messages) != 1 else ''} ({target.description})")
    redriven = 0
    for message in messages:
        count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
        diagnosis = diagnose_with_heads(message["Body"], count, exists, head)
        print(f"- {message['MessageId']}: {', '.join(diagnosis.keys) or '(no object)'}\n    {diagnosis.reason}")
        if args.redrive and (diagnosis.retryable or args.all):
            sqs.send_message(QueueUrl=target.queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            redriven += 1
        else:  # looked at, left in place: visible again at once
            sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    if args.redrive:
        print(f"redrove {redriven} of {len(messages)} to the classify queue")
    return 0
