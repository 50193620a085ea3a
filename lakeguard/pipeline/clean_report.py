"""CleanReport stage: turn the Glue anonymise job's report into the Clean stage's result.

Glue jobs cannot return values to Step Functions, so the job leaves ``report.json`` in
the run's staging prefix and this stage returns it in the shape the Lambda Clean stage
returns. The rows themselves are on the run's branch of the clean table, not in staged
objects: ``outputs`` is empty and ``branch`` names it, which is how the quality gate and
the refine job know where to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeguard.config import Settings
from lakeguard.exceptions import ValidationFailed
from lakeguard.layout import staging_prefix
from lakeguard.pipeline.event import ObjectRef
from lakeguard.s3io import get_json
from lakeguard.tables.branches import run_branch

if TYPE_CHECKING:
    import boto3


def clean_report(state: dict[str, Any], settings: Settings,
                 session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Return the Glue anonymise job's counts and where its rows are."""
    ref = ObjectRef.from_state(state)
    prefix = staging_prefix(ref.run_id)
    report = get_json(settings.clean_bucket, f"{prefix}report.json", session)
    if report is None:
        raise ValidationFailed(f"the anonymise job left no report under s3://"
                               f"{settings.clean_bucket}/{prefix}: see its Glue run logs")
    return {**report, "outputs": [], "branch": run_branch(ref.run_id)}
