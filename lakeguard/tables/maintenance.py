"""Table maintenance: expire old snapshots, then delete the files no snapshot references.

Iceberg never deletes a data file when a commit replaces its rows: earlier snapshots still
read it (time travel, a model's training input). Expiring snapshots only drops them from
the metadata; :func:`remove_orphan_files` then deletes, under the table's folder, every
file that no remaining snapshot (nor a recent, possibly in-flight, commit) references.
Erasure runs both at once so an erased person's rows are physically gone from S3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lakeguard.aws import client
from lakeguard.s3io import split_uri

if TYPE_CHECKING:
    from pyiceberg.table import Table


#: Table property: snapshots committed before this time (ISO, UTC) may have been expired.
#: ``ledger check`` reads it to tell an expired snapshot from a missing one, since snapshots
#: kept on purpose (a model's training input) can be older than the cutoff.
EXPIRED_BEFORE_PROPERTY = "lakeguard.expired-before"


def expire_snapshots(table: Table, older_than: datetime, keep: frozenset[int] = frozenset()
                     ) -> list[int]:
    """Drop snapshots committed before ``older_than`` (never the current one, nor ``keep``)."""
    current = table.current_snapshot()
    cutoff = older_than.timestamp() * 1000
    doomed = [s.snapshot_id for s in table.metadata.snapshots
              if s.timestamp_ms < cutoff and s.snapshot_id not in keep
              and (current is None or s.snapshot_id != current.snapshot_id)]
    if doomed:
        table.maintenance.expire_snapshots().by_ids(doomed).commit()
        with table.transaction() as transaction:
            transaction.set_properties(
                {EXPIRED_BEFORE_PROPERTY: older_than.astimezone(UTC).isoformat()})
    return doomed


def referenced_files(table: Table) -> set[str]:
    """Every file a retained snapshot reads (live entries), and the metadata files."""
    metadata = table.metadata
    found = {table.metadata_location, *(log.metadata_file for log in metadata.metadata_log)}
    for snapshot in metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            found.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                found.add(entry.data_file.file_path)
    return found


def remove_orphan_files(table: Table, safety: timedelta = timedelta(hours=1),
                        also: frozenset[str] = frozenset()) -> list[str]:
    """Delete files under the table's folder that nothing references; return their keys.

    Unreferenced files younger than ``safety`` are kept (a commit in flight has written
    them and not committed yet), unless named in ``also`` (files a commit just dropped, such
    as an erasure's). Every version of a key is deleted (the zone buckets are versioned),
    so nothing of an erased row survives as a noncurrent version either; a key already
    deleted (its latest version a delete marker, such as a dropped branch's files) goes
    whatever its age, since no commit in flight writes a key twice.
    """
    bucket, prefix = split_uri(table.location().rstrip("/") + "/")
    keep = referenced_files(table)
    s3 = client("s3")
    limit = datetime.now(UTC) - safety
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix))
    markers = [marker for page in pages for marker in page.get("DeleteMarkers", [])]
    deleted = {marker["Key"] for marker in markers if marker.get("IsLatest", False)}
    doomed = []
    for version in [v for page in pages for v in page.get("Versions", [])] + markers:
        uri = f"s3://{bucket}/{version['Key']}"
        if uri in keep and version.get("IsLatest", False):
            continue
        if (uri not in keep and uri not in also and version["Key"] not in deleted
                and version["LastModified"] > limit):
            continue
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        doomed.append(version["Key"])
    return sorted(set(doomed))


def current_files(table: Table) -> set[str]:
    """Data files of the table's current snapshot."""
    if table.current_snapshot() is None:
        return set()
    return {task.file.file_path for task in table.scan().plan_files()}


def snapshots_of_runs(table: Table, runs: set[str]) -> frozenset[int]:
    """Snapshots committed by ``runs`` (a model's training input, which must not expire)."""
    from lakeguard.tables.commit import RUN_PROPERTY

    return frozenset(s.snapshot_id for s in table.metadata.snapshots
                     if s.summary is not None
                     and s.summary.additional_properties.get(RUN_PROPERTY) in runs)


def purge(table: Table, dropped: set[str], keep: frozenset[int] = frozenset()) -> list[str]:
    """Expire every snapshot but the current one and ``keep``, then delete the orphans.

    What erasure runs after its commits: the files that held the erased rows (``dropped``)
    go at once if no kept snapshot reads them; other unreferenced files only past the usual
    safety age.
    """
    expire_snapshots(table, datetime.now(UTC) + timedelta(seconds=1), keep)
    table.refresh()
    return remove_orphan_files(table, also=frozenset(dropped))
