"""Feed SQS batches to a handler exactly as Lambda's SQS event source mapping does.

Receive up to `batch_size` messages (waiting up to the batching window), invoke the handler
with an `aws:sqs` event, delete the messages it did not report in `batchItemFailures`. Failed
messages stay in the queue, reappear after the visibility timeout, and the queue's redrive
policy moves them to the dead-letter queue after `maxReceiveCount` receives. A handler that
raises fails the whole batch, as on Lambda.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spotter.local.lambda_runtime import LambdaContext

log = logging.getLogger(__name__)

# A Lambda handler of SQS events: (event, context) -> None or {"batchItemFailures": [...]}
SqsHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any] | None]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    """`messages`: as SQS ReceiveMessage returns them."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


@dataclass
class BatchResult:
    received: int
    succeeded: int
    failed: int


class SqsTrigger:
    def __init__(
        self,
        sqs: Any,  # a boto3 SQS client (boto3 ships no types)
        queue_url: str,
        handler: SqsHandler,
        function_name: str = "ClassifyFunction",
        batch_size: int = 10,
        batching_window_s: int = 0,
        function_timeout_s: float = 30.0,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.function_name = function_name
        self.batch_size = batch_size
        self.batching_window_s = batching_window_s
        self.function_timeout_s = function_timeout_s
        self.failing_since: float | None = None
        self.queue_arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def _receive(self, wait_s: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.batching_window_s
        while len(messages) < self.batch_size:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages else wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(got)
            if not got or time.monotonic() >= deadline:
                break
        return messages

    def poll_once(self, wait_s: int = 1) -> BatchResult:
        messages = self._receive(wait_s)
        if not messages:
            return BatchResult(0, 0, 0)
        context = LambdaContext(function_name=self.function_name, timeout_s=self.function_timeout_s)
        try:
            response = self.handler(sqs_event(messages, self.queue_arn), context) or {}
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:
            log.exception("classify handler failed the whole batch of %d", len(messages))
            failed_ids = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return BatchResult(len(messages), len(done), len(messages) - len(done))

    def drain(self, idle_polls: int = 2, timeout_s: float = 60.0) -> int:
        """Poll until the queue has stayed empty `idle_polls` times; returns messages handled."""
        handled, idle, deadline = 0, 0, time.monotonic() + timeout_s
        while idle < idle_polls and time.monotonic() < deadline:
            result = self.poll_once(wait_s=0)
            handled += result.received
            idle = idle + 1 if result.received == 0 else 0
        return handled

    def run(self, stop: threading.Event, name: str = "poller") -> None:
        """Poll until `stop`. While the queue cannot be reached (moto restarting, which the stack
        reports itself), retry every second; a warning only if that lasts more than 10 s."""
        warned = False
        while not stop.is_set():
            try:
                self.poll_once(wait_s=1)
            except Exception as exc:  # keep polling through a moto hiccup, as Lambda's poller does
                now = time.monotonic()
                if self.failing_since is None:
                    self.failing_since = now
                    log.info(
                        "%s: cannot reach the queue (%s); retrying every second", name, str(exc).splitlines()[0][:200]
                    )
                elif not warned and now - self.failing_since > 10:
                    warned = True
                    log.warning(
                        "%s: cannot reach the queue for %.0f s (%s); still retrying every second",
                        name,
                        now - self.failing_since,
                        str(exc).splitlines()[0][:200],
                    )
                stop.wait(1.0)
            else:
                if self.failing_since is not None:
                    (log.warning if warned else log.info)(
                        "%s: reaching the queue again after %.0f s", name, time.monotonic() - self.failing_since
                    )
                    self.failing_since, warned = None, False
