"""A run's rows handed from a Spark job to Publish on a branch of the table they are bound for.

The Glue jobs write what they make for a run with Spark's own Iceberg support onto the
branch ``run_<run id>`` of each table (write-audit-publish): Iceberg data files in the
table's own folder, committed through the Glue catalog, and invisible to every reader of
``main``. The Lambda stages read them from the branch; Publish commits them to ``main`` in
the same commit that drops the branch (:func:`lakeguard.tables.replace_rows`), and
Quarantine drops the branches of a refused run. A branch left behind is what ``ledger
check`` reports as staging left over.
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


def drop_in(tx: Transaction, run_id: str) -> None:
    """Drop the run's branch as part of ``tx`` (one commit with what else ``tx`` does)."""
    from pyiceberg.table.update.snapshot import ManageSnapshots

    if run_branch(run_id) in tx.table_metadata.refs:
        ManageSnapshots(tx).remove_branch(run_branch(run_id)).commit()


def drop_branch(table: Table, run_id: str) -> bool:
    """Drop the run's branch on its own; return whether there was one."""
    if branch_snapshot(table, run_id) is None:
        return False
    table.manage_snapshots().remove_branch(run_branch(run_id)).commit()
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
