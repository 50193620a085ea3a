"""Quarantine stage: keep the rejected object and a machine-readable report of why.

It also removes what the run handed between stages, and, when Publish failed after some
of its commits, reverts them: the key's rows go back to what they were before the run, so
a refused version never has visible rows and never replaces a published one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.layout import quarantine_prefix, staging_prefix
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.keys import safe_name
from lakeguard.pipeline.ledger import QUARANTINED, Ledger
from lakeguard.pipeline.state import (
    RESULTS,
    CleanJobRun,
    ModelCheck,
    Quality,
    Refine,
    RefineJobRun,
    Validation,
)
from lakeguard.pipeline.state import Quarantine as QuarantineResult
from lakeguard.s3io import delete_keys, list_keys, put_json
from lakeguard.tables import Source, load_table, revert_run, run_tables
from lakeguard.tables.branches import drop_run_branches

if TYPE_CHECKING:
    import boto3

#: The results a run writes, in order; a Glue job's run is not a stage's own result.
_STAGES = tuple(path for path in RESULTS
                if path not in (CleanJobRun.PATH, RefineJobRun.PATH, "quarantine"))


def failure_reason(error: dict[str, Any]) -> dict[str, str]:
    """Turn a Step Functions error (Lambda errors carry JSON in ``Cause``) into type + message."""
    name = str(error.get("Error", "Unknown"))
    cause = str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {"error": str(parsed.get("errorType", name)),
                "message": str(parsed.get("errorMessage", cause))}
    return {"error": name, "message": cause}


def _failed_stage(state: dict[str, Any], validation: Validation | None,
                  checked: ModelCheck | None) -> str:
    """The first stage without a result, not counting the stages this run skips."""
    skipped = set()
    if validation is not None and not validation.has_model:
        skipped |= {"model_check", "train", "score"}
    if checked is not None and not checked.needs_training:
        skipped.add("train")
    if RefineJobRun.PATH in state:  # the Glue job refined it: there is no Lambda Refine
        skipped.add(Refine.PATH)
    return next((s for s in _STAGES if s not in state and s not in skipped), "publish")


def quarantine(state: dict[str, Any], settings: Settings,
               session: boto3.session.Session | None = None) -> QuarantineResult:
    """Copy the raw object and its report to quarantine; drop the run's staged output.

    The staged output is the Parquet under the run's staging prefix and the run's
    branches of its dataset's tables.
    """
    ref = ObjectRef.from_state(state)
    validation, bad_validation = Validation.salvage(state)
    checked, bad_check = ModelCheck.salvage(state)
    unreadable = [why for why in (bad_validation, bad_check) if why]
    dataset = validation.dataset if validation else ref.dataset
    prefix = quarantine_prefix(dataset, ref.run_id)
    s3 = client("s3", session)
    source: dict[str, str] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        source["VersionId"] = ref.version_id
    object_key = f"{prefix}{safe_name(ref.key)}"  # a '..' key must not name it
    s3.copy_object(Bucket=settings.quarantine_bucket, Key=object_key, CopySource=source)
    reason = failure_reason(state.get("error") or {})
    failed_stage = _failed_stage(state, validation, checked)
    report: dict[str, Any] = {
        "run_id": ref.run_id,
        "source": {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id},
        "dataset": dataset,
        "failed_stage": failed_stage,
        "reason": reason,
        "quarantined_at": datetime.now(UTC).isoformat(),
        "object": object_key,
    }
    if unreadable:
        report["unreadable_results"] = unreadable
    reverted: dict[str, str] = {}
    if failed_stage == "publish" and dataset:
        report["reverted"] = reverted = revert_commits(ref, dataset, settings)
    report_key = put_json(report, settings.quarantine_bucket, f"{prefix}report.json", session)
    for bucket in (settings.clean_bucket, settings.refined_bucket):
        delete_keys(bucket, list_keys(bucket, staging_prefix(ref.run_id), session), session)
    if dataset and Quality.PATH in state:  # the run reached Refine, which writes branches
        drop_run_branches(ref.run_id, dataset, settings)
    Ledger(settings.ledger_table, session).advance(
        ref, QUARANTINED, dataset=dataset, reason=f"{reason['error']}: {reason['message']}"[:1000],
        outputs=[f"quarantine/{object_key}", f"quarantine/{prefix}report.json"])
    return QuarantineResult(report=report_key, reason=reason["error"], failed_stage=failed_stage,
                            reverted=reverted)


def revert_commits(ref: ObjectRef, dataset: str, settings: Settings) -> dict[str, str]:
    """Undo the commits a refused run made before Publish failed; return what was reverted.

    Reverting tables in reverse commit order leaves, at every moment, no table holding
    this run's rows without the tables committed before it.
    """
    from lakeguard.contracts import load_contract

    source = Source(ref.run_id, ref.key_id, ref.key, ref.version_id, None)
    reverted = {}
    for spec in reversed(run_tables(load_contract(dataset))):
        snapshot = revert_run(load_table(settings, spec.zone, spec.name), source)
        if snapshot is not None:
            reverted[spec.key] = str(snapshot)
    return reverted
