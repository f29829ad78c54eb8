"""SQS adapters: the classify queue (sending notifications) and its dead-letter queue (review, redrive)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotter.ports import QueuedMessage

if TYPE_CHECKING:  # botocore ships no types: this names what is passed, for the reader
    from botocore.client import BaseClient


class SqsQueue:
    def __init__(self, client: BaseClient, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):  # SendMessageBatch takes at most 10 entries
            chunk = bodies[start : start + 10]
            result = self.client.send_message_batch(
                QueueUrl=self.url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
            )
            if result.get("Failed"):
                raise RuntimeError(f"SQS refused {len(result['Failed'])} messages: {result['Failed'][0]}")


class SqsDeadLetterQueue:
    def __init__(self, client: BaseClient, url: str) -> None:
        self.client = client
        self.url = url

    def receive_all(self, hold_s: int) -> list[QueuedMessage]:
        seen: dict[str, QueuedMessage] = {}
        while True:
            batch = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=hold_s,
                AttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                return list(seen.values())
            for m in fresh:
                seen[m["MessageId"]] = QueuedMessage(
                    message_id=m["MessageId"],
                    body=m["Body"],
                    receipt=m["ReceiptHandle"],
                    receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0")),
                )

    def delete(self, message: QueuedMessage) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)

    def release(self, message: QueuedMessage) -> None:
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message.receipt, VisibilityTimeout=0)
