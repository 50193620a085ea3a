"""CleanReport stage: turn the Glue anonymise job's report into the Clean stage's result.

Glue jobs cannot return values to Step Functions, so the job leaves ``report.json`` in
the run's staging prefix and this stage returns it, with the staged objects, in exactly
the shape the Lambda Clean stage returns: later stages cannot tell the paths apart.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from lakeguard.config import Settings
from lakeguard.exceptions import ValidationFailed
from lakeguard.layout import staging_prefix
from lakeguard.pipeline.event import ObjectRef
from lakeguard.s3io import get_json, list_keys

if TYPE_CHECKING:
    import boto3


def clean_report(state: dict[str, Any], settings: Settings,
                 session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Return the Glue anonymise job's counts and staged outputs."""
    ref = ObjectRef.from_state(state)
    prefix = staging_prefix(ref.run_id)
    report = get_json(settings.clean_bucket, f"{prefix}report.json", session)
    if report is None:
        raise ValidationFailed(f"the anonymise job left no report under s3://"
                               f"{settings.clean_bucket}/{prefix}: see its Glue run logs")
    keys = [k for k in list_keys(settings.clean_bucket, f"{prefix}{state['dataset']}/", session)
            if k.endswith(".parquet")]
    folders = sorted({posixpath.dirname(k.removeprefix(f"{prefix}{state['dataset']}/"))
                      for k in keys})
    return {**report, "outputs": [f"s3://{settings.clean_bucket}/{k}" for k in keys],
            "partitions": [f for f in folders if f]}
