"""Re-drive quarantined objects after a fix, and reprocess a dataset after a contract change.

Both work the way a producer does: the raw object version is copied onto its own key, which
makes a new version, and S3's event starts the pipeline for it through ingest as for any
drop. Nothing bypasses the stages, the ledger or the commit protocol: the new version gets
its own run, replaces the key's rows when it publishes (the newest version wins), or is
quarantined with its reason again. The earlier version's ledger entry keeps its final state
and gains the link: ``rerun_as`` (the new version id), ``rerun_why`` (``redrive`` or
``reprocess``) and ``rerun_at``.

A version is re-run only if it is still its key's newest version in raw: re-running an
older one would replace what the producer dropped after it. Versions still in flight are
left alone. Raw objects expire after their contract's ``retention_days``; what has expired
cannot be re-run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.exceptions import LakeguardError
from lakeguard.pipeline.ledger import FINAL, QUARANTINED, Ledger, LedgerEntry

if TYPE_CHECKING:
    import boto3

REDRIVE, REPROCESS = "redrive", "reprocess"
#: Object metadata on the copy: which version it re-runs, and why.
RERUN_OF_METADATA = "lakeguard-rerun-of"


@dataclass(frozen=True)
class Rerun:
    """One raw object version: re-run (``new_version_id``), or skipped with the reason."""

    key: str
    version_id: str
    dataset: str | None
    state: str
    reason: str | None
    new_version_id: str | None = None
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record ``--format json`` prints."""
        return asdict(self)


def _latest_versions(bucket: str, prefix: str,
                     session: boto3.session.Session | None) -> dict[str, dict[str, Any]]:
    """The newest version of every key under ``prefix`` (a deleted key has none)."""
    latest = {}
    pages = client("s3", session).get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=prefix)
    for page in pages:
        for version in page.get("Versions", []):
            if version.get("IsLatest"):
                latest[version["Key"]] = version
    return latest


def _judge(entry: LedgerEntry, latest: dict[str, dict[str, Any]]) -> str | None:
    """Why ``entry`` must not be re-run, or None."""
    if entry.state not in FINAL:
        return f"still {entry.state}: wait for its execution to end"
    current = latest.get(entry.key)
    if current is None:
        return "no longer in raw (expired or deleted)"
    if (current.get("VersionId") or "null") != entry.version_id:
        return "a newer version of the key was dropped since: re-running would replace it"
    return None


def plan_redrive(ledger: Ledger, settings: Settings, *, dataset: str | None = None,
                 reason: str | None = None, key_prefix: str | None = None,
                 session: boto3.session.Session | None = None) -> list[Rerun]:
    """Quarantined versions matching the filters (``reason``: a substring of the reason)."""
    chosen = [e for e in ledger.entries() if e.state == QUARANTINED
              and (dataset is None or e.dataset == dataset)
              and (reason is None or reason.lower() in (e.reason or "").lower())
              and (key_prefix is None or e.key.startswith(key_prefix))]
    latest = _latest_versions(settings.raw_bucket, key_prefix or "", session)
    return [_planned(e, latest) for e in chosen]


def plan_reprocess(ledger: Ledger, settings: Settings, dataset: str, *,
                   since: datetime | None = None,
                   session: boto3.session.Session | None = None) -> list[Rerun]:
    """The newest version of every key of ``dataset`` in raw (dropped on or after ``since``)."""
    prefix = load_contract(dataset).raw.prefix
    latest = _latest_versions(settings.raw_bucket, prefix, session)
    entries = {(e.key, e.version_id): e for e in ledger.entries() if e.key.startswith(prefix)}
    planned = []
    for key, version in sorted(latest.items()):
        if since is not None and version["LastModified"] < since:
            continue
        entry = entries.get((key, version.get("VersionId") or "null"))
        if entry is None:
            planned.append(Rerun(key, version.get("VersionId") or "null", dataset, "unknown",
                                 None, skipped="not in the ledger yet: its event is on its way"))
            continue
        planned.append(_planned(entry, latest))
    return planned


def _planned(entry: LedgerEntry, latest: dict[str, dict[str, Any]]) -> Rerun:
    return Rerun(entry.key, entry.version_id, entry.dataset, entry.state, entry.reason,
                 skipped=_judge(entry, latest))


def rerun(planned: Iterable[Rerun], why: str, settings: Settings, ledger: Ledger,
          session: boto3.session.Session | None = None,
          progress: Callable[[str], None] = lambda _: None) -> list[Rerun]:
    """Copy each planned version onto its key (a new version) and link it in the ledger."""
    s3 = client("s3", session)
    done: list[Rerun] = []
    planned = list(planned)
    total = sum(p.skipped is None for p in planned)
    for plan in planned:
        if plan.skipped is not None:
            done.append(plan)
            continue
        source = {"Bucket": settings.raw_bucket, "Key": plan.key, "VersionId": plan.version_id}
        try:
            new_version = s3.copy_object(
                CopySource=source, Bucket=settings.raw_bucket, Key=plan.key,
                MetadataDirective="REPLACE",
                Metadata={RERUN_OF_METADATA: f"{plan.version_id} ({why})"}).get("VersionId")
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "InvalidRequest":
                raise
            raise LakeguardError(
                f"{why}: s3://{settings.raw_bucket}/{plan.key} version {plan.version_id} is "
                "over the 5 GiB a single copy takes; copy it onto its own key with `aws s3 cp` "
                "(a multipart copy) to re-run it") from err
        ledger.link_rerun(settings.raw_bucket, plan.key, plan.version_id, str(new_version), why)
        done.append(Rerun(plan.key, plan.version_id, plan.dataset, plan.state, plan.reason,
                          new_version_id=str(new_version)))
        progress(f"{why} {sum(d.new_version_id is not None for d in done)}/{total}: {plan.key}")
    return done
