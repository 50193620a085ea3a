"""A run's rows handed from a Spark job to Publish on a branch of the table they are bound for.

The Glue jobs write what they make for a run with Spark's own Iceberg support onto the
branch ``run_<run id>`` of each table (write-audit-publish): Iceberg data files in the
table's own folder, committed through the Glue catalog, and invisible to every reader of
``main``. The Lambda stages read them from the branch; Publish commits them to ``main`` in
the same commit that drops the branch (:func:`lakeguard.tables.replace_rows`), and
Quarantine drops the branches of a refused run. A branch left behind is what ``ledger
check`` reports as staging left over.

A branch's files hold the rows as the job wrote them, before Publish's checks across the
table (k people per class, the natural key): once the branch is dropped nothing reads
them, and they are deleted (:func:`branch_files`, :func:`delete_files`) rather than left
in the clean zone until an orphan-file sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakeguard.tables.expressions import equal
from lakeguard.tables.spec import RUN_COLUMN

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table, Transaction

    from lakeguard.config import Settings

#: Branch names a run's hand-off takes: ``run_`` and the run id (an execution name).
BRANCH_PREFIX = "run_"


def run_branch(run_id: str) -> str:
    """The branch a run's Spark job writes its rows to."""
    return f"{BRANCH_PREFIX}{run_id}"


def branch_snapshot(table: Table, run_id: str) -> int | None:
    """The head snapshot of the run's branch, or None when the run handed nothing over here."""
    ref = table.metadata.refs.get(run_branch(run_id))
    return None if ref is None else ref.snapshot_id


def branch_rows(table: Table, run_id: str, columns: tuple[str, ...] | None = None
                ) -> pa.Table | None:
    """The rows the run wrote on its branch (never ``main``'s rows it forked from), or None."""
    snapshot = branch_snapshot(table, run_id)
    if snapshot is None:
        return None
    return table.scan(row_filter=equal(RUN_COLUMN, run_id), snapshot_id=snapshot,
                      selected_fields=columns or ("*",)).to_arrow()


def _main_lineage(table: Table) -> set[int]:
    """Snapshot ids of ``main``'s history still in the metadata (current one and ancestors)."""
    metadata, ids = table.metadata, set()
    snapshot = metadata.current_snapshot()
    while snapshot is not None:
        ids.add(snapshot.snapshot_id)
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return ids


def branch_files(table: Table, run_id: str) -> list[str]:
    """Data files the run's branch added since it forked from ``main``: only it reads them.

    Publish reads the branch's rows and writes its own files, so once the branch is gone
    nothing references these (``main`` never had the snapshots that added them).
    """
    from pyiceberg.manifest import ManifestEntryStatus

    head = branch_snapshot(table, run_id)
    if head is None:
        return []
    metadata, on_main, found = table.metadata, _main_lineage(table), []
    snapshot = metadata.snapshot_by_id(head)
    while snapshot is not None and snapshot.snapshot_id not in on_main:
        for manifest in snapshot.manifests(table.io):
            if manifest.added_snapshot_id != snapshot.snapshot_id:
                continue
            found += [entry.data_file.file_path
                      for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False)
                      if entry.status == ManifestEntryStatus.ADDED
                      and entry.snapshot_id == snapshot.snapshot_id]
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return found


def delete_files(table: Table, paths: list[str]) -> None:
    """Delete files of the table's folder that no snapshot reads any more."""
    for path in paths:
        table.io.delete(path)


def drop_in(tx: Transaction, run_id: str) -> None:
    """Drop the run's branch as part of ``tx`` (one commit with what else ``tx`` does)."""
    from pyiceberg.table.update.snapshot import ManageSnapshots

    if run_branch(run_id) in tx.table_metadata.refs:
        ManageSnapshots(tx).remove_branch(run_branch(run_id)).commit()


def drop_branch(table: Table, run_id: str) -> bool:
    """Drop the run's branch on its own, and its files; return whether there was one."""
    if branch_snapshot(table, run_id) is None:
        return False
    written = branch_files(table, run_id)
    table.manage_snapshots().remove_branch(run_branch(run_id)).commit()
    delete_files(table, written)
    return True


def run_branches(table: Table) -> list[str]:
    """The run ids whose branch is on this table (hand-offs not yet published or dropped)."""
    return sorted(name.removeprefix(BRANCH_PREFIX) for name in table.metadata.refs
                  if name.startswith(BRANCH_PREFIX))


def drop_run_branches(run_id: str, dataset: str, settings: Settings) -> list[str]:
    """Drop the run's branch of every table of its dataset; return the tables that had one."""
    from lakeguard.contracts import load_contract
    from lakeguard.tables import load_table, run_tables

    return [spec.key for spec in run_tables(load_contract(dataset))
            if drop_branch(load_table(settings, spec.zone, spec.name), run_id)]
