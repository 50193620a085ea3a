"""Validate stage: route the object to its contract and check it before any parsing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.contracts import contract_for_key
from lakeguard.exceptions import ValidationFailed
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.keys import key_problem
from lakeguard.pipeline.ledger import PROCESSING, Ledger
from lakeguard.pipeline.state import Validation
from lakeguard.transforms.csvfile import check_header, read_header

if TYPE_CHECKING:
    import boto3

_HEADER_PROBE_BYTES = 64 * 1024


def validate(
    state: dict[str, Any], settings: Settings, session: boto3.session.Session | None = None
) -> Validation:
    """Check the key, routing, size and header; say which engine cleans the object.

    Cheap checks come first so a wrong file fails in milliseconds, not after a Spark start.
    The header is read from the object's first bytes by the same CSV reader, with the same
    options, as the data will be.
    """
    ref = ObjectRef.from_state(state)
    Ledger(settings.ledger_table, session).advance(ref, PROCESSING)
    problem = key_problem(ref.key)
    if problem is not None:
        raise ValidationFailed(f"s3://{ref.bucket}/{ref.key!r}: {problem}")
    contract = contract_for_key(ref.key)
    s3 = client("s3", session)
    extra = {"VersionId": ref.version_id} if ref.version_id else {}
    head = s3.head_object(Bucket=ref.bucket, Key=ref.key, **extra)
    size = int(head["ContentLength"])
    if size == 0:
        raise ValidationFailed(f"s3://{ref.bucket}/{ref.key} is empty (0 bytes)")
    if size > contract.raw.max_bytes:
        raise ValidationFailed(
            f"s3://{ref.bucket}/{ref.key} is {size} bytes, above the contract's raw.max_bytes "
            f"({contract.raw.max_bytes}) in {contract.path}; split the file or raise the limit"
        )
    probe = s3.get_object(
        Bucket=ref.bucket, Key=ref.key, Range=f"bytes=0-{_HEADER_PROBE_BYTES - 1}", **extra
    )["Body"].read()
    check_header(read_header(probe, contract, whole=size <= len(probe)), contract)
    return Validation(dataset=contract.name, contract_version=contract.version,
                      contract_digest=contract.digest, size=size,
                      route="lambda" if size <= settings.lambda_max_bytes else "glue",
                      has_model=contract.model is not None)
