"""Publish stage: commit a run's staged objects, register partitions, write the audit record.

Until this stage nothing of the run is visible under the final keys; earlier output of
the same raw key is replaced here, in one place, so a re-sent file never duplicates rows.
"""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.layout import audit_key, final_key, is_from_source, staging_prefix
from lakeguard.pipeline.ledger import PUBLISHED, Ledger
from lakeguard.pipeline.seams import seam
from lakeguard.s3io import delete_keys, list_keys, put_json

if TYPE_CHECKING:
    import boto3


def commit_staged(bucket: str, ref: ObjectRef, session: boto3.session.Session | None = None,
                  name: str = "") -> list[str]:
    """Move a run's staged Parquet objects to their final keys; return the final keys."""
    s3 = client("s3", session)
    staged = [k for k in list_keys(bucket, staging_prefix(ref.run_id), session)
              if k.endswith(".parquet")]
    tables = sorted({k.removeprefix(staging_prefix(ref.run_id)).split("/", 1)[0] for k in staged})
    for table in tables:  # drop what an earlier version of the same raw key published
        old = [k for k in list_keys(bucket, f"{table}/", session) if is_from_source(k, ref.key_id)]
        delete_keys(bucket, old, session)
    seam(f"commit:{name}:written", ref.run_id)
    committed = []
    counters: dict[str, int] = {}
    for key in staged:
        folder = posixpath.dirname(key)
        counters[folder] = counters.get(folder, -1) + 1
        target = final_key(key, ref.run_id, ref.key_id, counters[folder])
        s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
        committed.append(target)
    delete_keys(bucket, list_keys(bucket, staging_prefix(ref.run_id), session), session)
    seam(f"commit:{name}:done", ref.run_id)
    return committed


def register_partitions(database: str, keys: list[str],
                        session: boto3.session.Session | None = None) -> int:
    """Add the Glue partitions the committed objects live in (existing ones are kept)."""
    glue = client("glue", session)
    by_table: dict[str, set[str]] = {}
    for key in keys:
        table, _, rest = key.partition("/")
        by_table.setdefault(table, set()).add(posixpath.dirname(rest))
    added = 0
    for table, folders in sorted(by_table.items()):
        descriptor = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
        location = descriptor["Location"].rstrip("/")
        for folder in sorted(f for f in folders if f):  # unpartitioned tables have none
            values = [part.split("=", 1)[1] for part in folder.split("/")]
            try:
                glue.create_partition(DatabaseName=database, TableName=table, PartitionInput={
                    "Values": values,
                    "StorageDescriptor": {**descriptor, "Location": f"{location}/{folder}/"},
                })
                added += 1
            except glue.exceptions.AlreadyExistsException:
                continue
    return added


def supersede(ref: ObjectRef, newer: str, state: dict[str, Any], settings: Settings,
              ledger: Ledger, session: boto3.session.Session | None = None) -> dict[str, Any]:
    """A newer version of the key was written: drop this run's output instead of committing.

    The entry is final (published, with no outputs and the reason), so the accounting
    holds, and the refined partitions keep reflecting the latest version.
    """
    for bucket in (settings.clean_bucket, settings.refined_bucket):
        delete_keys(bucket, list_keys(bucket, staging_prefix(ref.run_id), session), session)
    ledger.advance(ref, PUBLISHED, dataset=state["validation"]["dataset"], outputs=[],
                   reason=f"superseded: version {newer} of the same key was written later")
    return {"clean_objects": 0, "refined_objects": 0, "partitions_added": 0,
            "superseded_by": newer}


def publish(state: dict[str, Any], settings: Settings,
            session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Commit clean and refined output of the run and write its record."""
    ref = ObjectRef.from_state(state)
    ledger = Ledger(settings.ledger_table, session)
    newer = ledger.newer_version(ref)
    if newer is not None:
        return supersede(ref, newer, state, settings, ledger, session)
    clean_keys = commit_staged(settings.clean_bucket, ref, session, f"clean/{ref.dataset}")
    refined_keys = commit_staged(settings.refined_bucket, ref, session, "refined/team_matches")
    seam("publish:committed", ref.run_id)
    partitions = register_partitions(settings.glue_database, refined_keys, session)
    clean = state["clean"]
    record = {
        "run_id": ref.run_id,
        "source": {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id,
                   "sha256": clean.get("input_sha256")},
        "dataset": state["validation"]["dataset"],
        "contract": {"name": state["validation"]["dataset"],
                     "version": state["validation"]["contract_version"],
                     "sha256": state["validation"]["contract_digest"]},
        "pseudonym_key_version": clean.get("key_version"),
        "rows": {k.removeprefix("rows_"): clean.get(k) for k in
                 ("rows_in", "rows_out", "rows_rejected", "rows_suppressed")},
        "k_anonymity": {"required": clean.get("k_required"), "achieved": clean.get("k_achieved")},
        "rejects": clean.get("rejects", []),
        "clean_objects": clean_keys,
        "refined_objects": refined_keys,
        "anomalies": (state.get("score") or {}).get("anomalies"),
        "received_at": state.get("received_at"),
        "published_at": datetime.now(UTC).isoformat(),
    }
    put_json(record, settings.artefacts_bucket, audit_key(record["dataset"], ref.run_id), session)
    ledger.advance(
        ref, PUBLISHED, dataset=record["dataset"], digest=clean.get("input_sha256"),
        outputs=[f"clean/{k}" for k in clean_keys] + [f"refined/{k}" for k in refined_keys])
    seam("publish:recorded", ref.run_id)
    return {"clean_objects": len(clean_keys), "refined_objects": len(refined_keys),
            "partitions_added": partitions}
