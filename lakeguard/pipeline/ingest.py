"""Ingest: turn S3 "Object Created" events (EventBridge, via SQS) into pipeline executions.

Each raw object version starts exactly one execution, named from bucket, key and version:
a redelivered event hits ``ExecutionAlreadyExists`` and is a no-op. A key no contract
claims still starts one, so Validate quarantines it with a reason instead of losing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from lakeguard.aws import client
from lakeguard.contracts import contract_for_key
from lakeguard.exceptions import RoutingError
from lakeguard.layout import run_id
from lakeguard.logs import log_stream
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.ledger import Ledger

if TYPE_CHECKING:
    import boto3

#: Failures are logged here, with their reason, before the record goes back to the queue
#: (and after five receives to the dead-letter queue): the DLQ message alone says nothing.
logger = Logger(service="lakeguard", stream=log_stream())


@dataclass(frozen=True)
class IngestResult:
    """What happened to one event."""

    run_id: str
    started: bool


def object_from_event(event: dict[str, Any]) -> ObjectRef:
    """Read bucket, key, size and version from an EventBridge S3 event.

    EventBridge delivers the key as written (``PSG+OM.csv``, ``a b.csv``, ``é.csv``), unlike
    S3's direct notifications, which URL-encode it: decoding it again would turn ``+`` into
    a space and name an object that does not exist.
    """
    detail = event["detail"]
    bucket = detail["bucket"]["name"]
    key = detail["object"]["key"]
    version = detail["object"].get("version-id")
    try:
        dataset: str | None = contract_for_key(key).name
    except RoutingError:
        dataset = None
    return ObjectRef(bucket=bucket, key=key, version_id=version,
                     size=int(detail["object"].get("size", 0)), dataset=dataset,
                     run_id=run_id(dataset, bucket, key, version),
                     received_at=None if event.get("time") is None else str(event["time"]),
                     sequencer=detail["object"].get("sequencer"))


def execution_arn(state_machine_arn: str, name: str) -> str:
    """ARN of the execution named ``name`` (known before it starts: names are ours)."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"


def start(ref: ObjectRef, state_machine_arn: str,
          session: boto3.session.Session | None = None) -> IngestResult:
    """Start the execution for one object version; an existing one means a duplicate event."""
    sfn = client("stepfunctions", session)
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=ref.run_id,
                            input=json.dumps(ref.to_state()))
    except sfn.exceptions.ExecutionAlreadyExists:
        return IngestResult(ref.run_id, started=False)
    return IngestResult(ref.run_id, started=True)


def ingest_sqs_batch(event: dict[str, Any], state_machine_arn: str, ledger_table: str,
                     session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Handle every record of an SQS batch; report only the failed ones for redelivery.

    The object is recorded in the ledger before its execution starts, so a version that
    never got an execution still shows as ``received`` (and ``ledger check`` flags it).
    """
    ledger = Ledger(ledger_table, session)
    failures = []
    for record in event.get("Records", []):
        try:
            ref = object_from_event(json.loads(record["body"]))
            ledger.receive(ref, execution_arn(state_machine_arn, ref.run_id))
            start(ref, state_machine_arn, session)
        except Exception as err:  # one bad record must not fail the others of the batch
            logger.exception("could not start the pipeline for a record; SQS will redeliver it",
                             extra={"message_id": record.get("messageId"),
                                    "receive_count": record.get("attributes", {}).get(
                                        "ApproximateReceiveCount"),
                                    "error_type": type(err).__name__})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
