"""Move the ingest dead-letter queue's messages back to the ingest queue, after a fix.

A record lands in the dead-letter queue when ingest failed on it five times (its reason is
in ingest's log). Once the cause is fixed, sending it back is safe: ingest starts each
object version's execution exactly once (the execution's name is the run id), so a record
that had got through before is a no-op. This is SQS's own "DLQ redrive"
(``StartMessageMoveTask``) done with plain receive, send and delete, so it needs only the
queue permissions an operator has and works the same on the embedded AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lakeguard.aws import client
from lakeguard.exceptions import LakeguardError

if TYPE_CHECKING:
    import boto3


def waiting(dead_letter_url: str, session: boto3.session.Session | None = None) -> int:
    """Messages in the dead-letter queue now (SQS's approximate count)."""
    attributes = client("sqs", session).get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def move_back(dead_letter_url: str, queue_url: str, session: boto3.session.Session | None = None,
              progress: Callable[[str], None] = lambda _: None) -> int:
    """Send every dead letter back to the queue, then delete it; return how many moved.

    A message is deleted only after SQS accepted its copy, so a failure half-way leaves
    every message in one queue or the other, never in neither.
    """
    sqs = client("sqs", session)
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=60).get("Messages", [])
        if not messages:
            return moved
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)])
        if sent.get("Failed"):
            failed = sent["Failed"][0]
            raise LakeguardError(f"SQS refused a dead letter's copy ({failed.get('Code')}: "
                                 f"{failed.get('Message')}); nothing was deleted for it")
        sqs.delete_message_batch(QueueUrl=dead_letter_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        moved += len(messages)
        progress(f"moved {moved} dead letter(s) back to the ingest queue")
