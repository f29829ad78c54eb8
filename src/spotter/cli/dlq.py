"""`spotter dlq`: show dead-lettered messages with their reasons; redrive the ones worth retrying."""

from __future__ import annotations

import argparse
import sys

from spotter.cli.shown import shown
from spotter.cli.target import TargetError, add_target_arguments, require, resolve


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("dlq", help="show dead-lettered messages and redrive them")
    parser.add_argument("--redrive", action="store_true", help="send retryable messages back to the classify queue")
    parser.add_argument("--all", action="store_true", help="with --redrive: also messages that will fail again")
    parser.add_argument("--dlq-url", help="dead-letter queue URL (default: from the target)")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import client
    from spotter.adapters.s3 import S3Inspector
    from spotter.adapters.sqs import SqsDeadLetterQueue, SqsQueue
    from spotter.ops.dead_letters import review

    try:
        target = resolve(args)
        dlq_url = args.dlq_url or target.dead_letter_queue_url
        if not dlq_url:
            raise TargetError("no dead-letter queue URL: pass --dlq-url")
        queue_url = require(target, "queue_url")[0] if args.redrive else None
    except TargetError as exc:
        print(f"spotter dlq: {exc}", file=sys.stderr)
        return 2
    sqs = client("sqs")
    queue = SqsQueue(sqs, queue_url) if queue_url is not None else None
    reviewed = review(SqsDeadLetterQueue(sqs, dlq_url), S3Inspector(client("s3")), queue, redrive_all=args.all)
    print(f"{len(reviewed)} dead-lettered message{'s' if len(reviewed) != 1 else ''} ({target.description})")
    for item in reviewed:
        diagnosis = item.diagnosis
        keys = ", ".join(shown(key) for key in diagnosis.keys) or "(no object)"
        print(f"- {shown(item.message.message_id)}: {keys}\n    {shown(diagnosis.reason)}")
    if args.redrive:
        print(f"redrove {sum(item.redriven for item in reviewed)} of {len(reviewed)} to the classify queue")
    return 0
