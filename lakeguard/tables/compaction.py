"""Compaction: rewrite a partition's small data files into few, on a schedule.

Every Publish adds at least one data file per partition it touches, so a partition fed by
many small objects (daily files into a monthly partition, one file per site) ends up with
hundreds of small files: each query opens them all, and each commit's planning reads their
manifest entries. Compaction reads a partition's small files and writes their rows back
as one file (a few, past the target size), in one commit per table that changes no row:
the lineage columns are copied as they are, so ``ledger check`` and a later version's
overwrite of its key see the same rows as before.

The commit is optimistic like every other: if a Publish commits to the table meanwhile,
Glue refuses the stale compaction and nothing is lost; the next run tries again. The
replaced files stay readable by earlier snapshots (time travel, a model's training
input) until those expire.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeguard.config import (
    COMPACTION_MAX_BYTES_PER_RUN,
    COMPACTION_MIN_FILES,
    COMPACTION_SMALL_FILE_BYTES,
    Settings,
)
from lakeguard.contracts import load_contract
from lakeguard.tables import load_table
from lakeguard.tables.commit import memoised_transaction, merging_overwrite, read_data_file
from lakeguard.tables.spec import RUN_COLUMN, SOURCE_COLUMN, all_tables, contract_tables

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

#: Snapshot summary property that marks a compaction's commit (it names no run or source).
COMPACTION_PROPERTY = "lakeguard.compaction"


@dataclass(frozen=True)
class Compaction:
    """What one table's compaction did (or, with no snapshot, found nothing to do)."""

    table: str
    partitions: int
    files_before: int
    files_after: int
    bytes_rewritten: int
    snapshot_id: int | None

    def to_json(self) -> dict[str, Any]:
        """The record the compaction function returns and the CLI prints."""
        return asdict(self)


def _small_files_by_partition(table: Table, small_bytes: int) -> list[list[DataFile]]:
    """The current snapshot's small data files, grouped by partition (spec and values)."""
    groups: dict[tuple[int, Any], list[DataFile]] = defaultdict(list)
    for task in table.scan().plan_files():
        if task.delete_files:  # merge-on-read deletes: the rows need the delete files applied
            continue
        data_file = task.file
        if data_file.file_size_in_bytes < small_bytes:
            groups[(data_file.spec_id, data_file.partition)].append(data_file)
    return list(groups.values())


def _chosen(groups: list[list[DataFile]], min_files: int, max_bytes: int) -> list[list[DataFile]]:
    """Partitions worth a rewrite, most files first, within this run's byte budget."""
    chosen, budget = [], max_bytes
    for files in sorted(groups, key=len, reverse=True):
        size = sum(f.file_size_in_bytes for f in files)
        if len(files) >= min_files and size <= budget:
            chosen.append(files)
            budget -= size
    return chosen


def compact_table(table: Table, *, small_bytes: int = COMPACTION_SMALL_FILE_BYTES,
                  min_files: int = COMPACTION_MIN_FILES,
                  max_bytes: int = COMPACTION_MAX_BYTES_PER_RUN) -> Compaction:
    """Rewrite each partition holding ``min_files`` small files or more, in one commit.

    Rows are sorted by source key and run, so a later version of one key finds its rows in
    few row groups. Raises pyiceberg's ``CommitFailedException`` when another commit got in
    first (a commit that changed the table meanwhile, whatever partition: validation at
    serializable isolation also refuses a retry that would bring back a replaced key's rows),
    or ``ValidationException``; the caller leaves the table for the next run.
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    name = ".".join(table.name())
    if table.current_snapshot() is None:
        return Compaction(name, 0, 0, 0, 0, None)
    partitions = _chosen(_small_files_by_partition(table, small_bytes), min_files, max_bytes)
    if not partitions:
        return Compaction(name, 0, 0, 0, 0, None)
    schema = table.schema().as_arrow()
    tx = memoised_transaction(table)
    written = 0
    with merging_overwrite(tx, table, {COMPACTION_PROPERTY: "true"}) as rewrite:
        for files in partitions:
            rows = pa.concat_tables([read_data_file(table, f).cast(schema) for f in files])
            rows = rows.sort_by([(SOURCE_COLUMN, "ascending"), (RUN_COLUMN, "ascending")])
            for data_file in files:
                rewrite.delete_data_file(data_file)
            for data_file in _dataframe_to_data_files(table_metadata=tx.table_metadata, df=rows,
                                                      io=table.io,
                                                      write_uuid=rewrite.commit_uuid):
                rewrite.append_data_file(data_file)
                written += 1
        snapshot_id = int(rewrite.snapshot_id)
    tx.commit_transaction()
    return Compaction(name, len(partitions), sum(len(f) for f in partitions), written,
                      sum(f.file_size_in_bytes for files in partitions for f in files),
                      snapshot_id)


def compact_lake(event: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Compact every table of the lake, or of ``event["dataset"]``: the scheduled function.

    A table that another commit changed meanwhile is reported as ``busy`` and left for the
    next run; the others are compacted all the same.
    """
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    dataset = event.get("dataset")
    specs = contract_tables(load_contract(dataset)) if dataset else all_tables()
    done, busy = [], []
    for spec in specs:
        try:
            done.append(compact_table(load_table(settings, spec.zone, spec.name)).to_json())
        except (CommitFailedException, ValidationException):
            busy.append(spec.key)
    return {"tables": done, "busy": busy,
            "files_compacted": sum(t["files_before"] for t in done),
            "files_written": sum(t["files_after"] for t in done)}
