"""CleanReport stage: turn the Glue anonymise job's report into the Clean stage's result.

Glue jobs cannot return values to Step Functions, so the job leaves its result, the same
:class:`~lakeguard.pipeline.state.Clean` the Lambda Clean stage returns, as ``report.json``
in the run's staging prefix, and this stage hands it on. The rows themselves are on the
run's branch of the clean table, not in staged objects: ``outputs`` is empty and
``branch`` names it, which is how the quality gate and the refine job know where to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeguard.config import Settings
from lakeguard.exceptions import ValidationFailed
from lakeguard.layout import staging_prefix
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.state import Clean
from lakeguard.s3io import get_json

if TYPE_CHECKING:
    import boto3


def clean_report(state: dict[str, Any], settings: Settings,
                 session: boto3.session.Session | None = None) -> Clean:
    """Return the Glue anonymise job's counts and where its rows are."""
    ref = ObjectRef.from_state(state)
    prefix = staging_prefix(ref.run_id)
    report = get_json(settings.clean_bucket, f"{prefix}report.json", session)
    if report is None:
        raise ValidationFailed(f"the anonymise job left no report under s3://"
                               f"{settings.clean_bucket}/{prefix}: see its Glue run logs")
    return Clean.from_json(report)
