"""Lambda handler of the ingest path: SQS batch of S3 events -> pipeline executions."""

from __future__ import annotations

import os
from typing import Any

from lakeguard.config import ENV_LEDGER_TABLE, ENV_STATE_MACHINE_ARN
from lakeguard.pipeline.ingest import ingest_sqs_batch


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start one execution per record; failed records go back to SQS (then the DLQ)."""
    return ingest_sqs_batch(event, os.environ[ENV_STATE_MACHINE_ARN], os.environ[ENV_LEDGER_TABLE])
