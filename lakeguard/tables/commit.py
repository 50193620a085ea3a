"""One run's rows into one table: a single Iceberg commit that replaces its source's rows.

The commit is one OVERWRITE snapshot on the table's main branch: the data files holding
rows of the same raw key (an earlier version's) are removed and the run's new files are
added in the same snapshot, so readers see either the earlier version or this one, never
neither. Nothing is deleted from storage here: removed files stay readable by earlier
snapshots until they expire (:mod:`lakeguard.tables.maintenance`).

The snapshot's summary names the run, the source key, version and digest. It is what
makes a retry idempotent (:func:`run_snapshot` finds it) and what ``ledger check`` proves.
Concurrent commits are optimistic: Glue refuses a stale table version, pyiceberg reloads,
and its serializable validation refuses our commit if another one added rows of the same
source meanwhile (the newer version is then decided by the ledger, see Publish).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.exceptions import LakeguardError
from lakeguard.tables.branches import branch_files, delete_files, drop_in
from lakeguard.tables.expressions import equal, one_of
from lakeguard.tables.spec import RUN_COLUMN, SOURCE_COLUMN

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction

#: Snapshot summary properties lakeguard writes (Iceberg keeps custom summary keys).
RUN_PROPERTY = "lakeguard.run-id"
SOURCE_PROPERTY = "lakeguard.source-key-id"
REVERTED_PROPERTY = "lakeguard.reverted-run-id"
#: Other source keys whose rows the same commit rewrote (a natural key's ``replace``).
DISPLACED_PROPERTY = "lakeguard.displaced-key-ids"


@dataclass(frozen=True)
class Source:
    """The raw object version a run publishes: what its commit records."""

    run_id: str
    key_id: str
    key: str
    version_id: str | None
    digest: str | None

    def summary(self) -> dict[str, str]:
        """Snapshot summary properties (no value from the object, only names and digests)."""
        return {RUN_PROPERTY: self.run_id, SOURCE_PROPERTY: self.key_id,
                "lakeguard.source-key": self.key,
                "lakeguard.source-version-id": self.version_id or "null",
                "lakeguard.source-sha256": self.digest or ""}


def with_lineage(rows: pa.Table, schema: pa.Schema, source: Source) -> pa.Table:
    """The run's rows in the table's column order, lineage columns filled in."""
    n = rows.num_rows
    columns = {f.name: rows[f.name].cast(f.type) if f.name in rows.column_names
               else pa.nulls(n, f.type) for f in schema}
    columns[SOURCE_COLUMN] = pa.array([source.key_id] * n, pa.string())
    columns[RUN_COLUMN] = pa.array([source.run_id] * n, pa.string())
    return pa.table(columns, schema=schema)


def run_snapshot(table: Table, run_id: str, property_name: str = RUN_PROPERTY) -> int | None:
    """The snapshot on main that ``run_id`` committed (walking back from the current one)."""
    metadata = table.metadata
    snapshot = metadata.current_snapshot()
    while snapshot is not None:
        if (snapshot.summary is not None
                and snapshot.summary.additional_properties.get(property_name) == run_id):
            return snapshot.snapshot_id
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return None


def _source_files(table: Table, key_ids: set[str]) -> list[DataFile]:
    """Data files of the current snapshot that may hold rows of ``key_ids`` (metrics-pruned)."""
    if table.current_snapshot() is None:
        return []
    return [task.file for task in table.scan(row_filter=one_of(SOURCE_COLUMN, key_ids))
            .plan_files()]


def displaced_keys(table: Table, snapshot_id: int) -> list[str]:
    """The other source keys whose rows a snapshot rewrote (see :func:`replace_rows`)."""
    snapshot = table.metadata.snapshot_by_id(snapshot_id)
    summary = snapshot.summary if snapshot is not None else None
    found = summary.additional_properties.get(DISPLACED_PROPERTY, "") if summary else ""
    return [key for key in found.split(",") if key]


def read_data_file(table: Table, data_file: DataFile) -> pa.Table:
    """Every row of one data file, in the table's current schema."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan
    from pyiceberg.table import FileScanTask

    return ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table(
        [FileScanTask(data_file)])


#: Manifests a commit merges into one once there are this many: every commit then reads a
#: few manifests, not one per earlier commit (what made Publish slow down as tables grew).
MERGE_MANIFESTS_AT = 4


def memoised_transaction(table: Table) -> Transaction:
    """A transaction that copies the table's metadata once per change, not once per read.

    pyiceberg deep-copies the whole metadata (every snapshot's summary) each time a
    transaction's metadata is read, some twenty times a commit: most of a commit's time
    once a table has a history. The copy is kept until the staged updates or the table's
    metadata (a retry reloads it) change; nothing mutates it in between.
    """
    from pyiceberg.table import Transaction

    class _Memoised(Transaction):
        _memo: tuple[Any, Any, Any] | None = None

        @property
        def table_metadata(self) -> Any:
            memo = self._memo
            if memo is None or memo[0] is not self._updates or memo[1] is not self._table.metadata:
                memo = self._memo = (self._updates, self._table.metadata,
                                     Transaction.table_metadata.fget(self))  # type: ignore[attr-defined]
            return memo[2]

    return _Memoised(table)


def merging_overwrite(tx: Transaction, table: Table, properties: dict[str, str]) -> Any:
    """An OVERWRITE snapshot producer that also merges small manifests, as merge-append does.

    pyiceberg merges manifests only for appends; an overwrite would add one manifest per
    commit, and finding a source key's files reads every manifest, so the cost of a commit
    grew with the table's history.
    """
    from pyiceberg.manifest import ManifestContent
    from pyiceberg.table.snapshots import Operation
    from pyiceberg.table.update.snapshot import _ManifestMergeManager, _OverwriteFiles

    class _MergingOverwrite(_OverwriteFiles):
        def _process_manifests(self, manifests: list[Any]) -> list[Any]:
            merger = _ManifestMergeManager(target_size_bytes=8 * 1024 * 1024,
                                           min_count_to_merge=MERGE_MANIFESTS_AT,
                                           merge_enabled=True, snapshot_producer=self)
            data = [m for m in manifests if m.content == ManifestContent.DATA]
            return merger.merge_manifests(data) + [m for m in manifests if m not in data]

    operation = Operation.OVERWRITE if table.current_snapshot() is not None else Operation.APPEND
    return _MergingOverwrite(operation=operation, transaction=tx, io=table.io,
                             snapshot_properties=properties)


class Superseded(LakeguardError):
    """The table already shows a newer version of the source: this run must not replace it."""


def replace_rows(table: Table, rows: pa.Table, source: Source,
                 on_written: Callable[[], None] = lambda: None,
                 properties: dict[str, str] | None = None,
                 newer_runs: frozenset[str] = frozenset(), rewrite: bool = False,
                 hand_off: str | None = None,
                 displaced: Mapping[str, pa.Table] | None = None) -> int:
    """Commit ``rows`` as the rows of ``source``'s key in one snapshot; return its id.

    Files holding only that key's rows are dropped from the snapshot; a file mixing it
    with other keys (after compaction) is rewritten without them. Raises
    :class:`Superseded` when a row of the key comes from one of ``newer_runs``, and
    returns the earlier snapshot when the key's visible rows are this run's already (a
    retry; ``rewrite`` commits anyway, as erasure must). ``on_written`` runs once every new
    file is written and before the catalog commit (a seam for crash tests). ``hand_off``
    names a run whose branch (:mod:`lakeguard.tables.branches`) the same commit drops.
    ``displaced`` gives other source keys' rows anew, in the same commit: what they keep
    once the run's rows replaced theirs under a natural key (with their own lineage).
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    others = dict(displaced or {})
    keys = {source.key_id, *others}
    predicate = one_of(SOURCE_COLUMN, keys)
    existing = [(f, read_data_file(table, f)) for f in _source_files(table, keys)]
    is_rewritten = [pc.is_in(content[SOURCE_COLUMN], value_set=pa.array(sorted(keys)))
                    for _, content in existing]
    runs = {r for (_, content) in existing for r in content.filter(
        pc.equal(content[SOURCE_COLUMN], source.key_id))[RUN_COLUMN].to_pylist()}
    if runs & newer_runs:
        raise Superseded(f"{'.'.join(table.name())}: rows of a newer version "
                         f"({sorted(runs & newer_runs)[0]}) are visible")
    done = run_snapshot(table, source.run_id)
    if done is not None and runs <= {source.run_id} and not rewrite:
        return done
    summary = {**source.summary(), **(properties or {})}
    if others:
        summary[DISPLACED_PROPERTY] = ",".join(sorted(others))
    tx = memoised_transaction(table)
    with merging_overwrite(tx, table, summary) as overwrite:
        overwrite.delete_by_predicate(predicate)  # what concurrent commits are checked against
        kept: list[pa.Table] = []
        for (data_file, content), rewritten in zip(existing, is_rewritten, strict=True):
            if not pc.any(rewritten).as_py():
                continue
            overwrite.delete_data_file(data_file)
            untouched = content.filter(pc.invert(rewritten))
            if untouched.num_rows:
                kept.append(untouched)
        schema = table.schema().as_arrow()
        new = pa.concat_tables([rows, *(t.select(schema.names).cast(schema)
                                        for t in others.values()), *kept])
        if new.num_rows:
            for data_file in _dataframe_to_data_files(table_metadata=tx.table_metadata, df=new,
                                                      io=table.io,
                                                      write_uuid=overwrite.commit_uuid):
                overwrite.append_data_file(data_file)
        snapshot_id = int(overwrite.snapshot_id)
    handed = branch_files(table, hand_off) if hand_off is not None else []
    if hand_off is not None:
        drop_in(tx, hand_off)
    on_written()
    tx.commit_transaction()
    delete_files(table, handed)  # rows as the job wrote them, before Publish's checks
    return snapshot_id


def visible_runs(table: Table, snapshot_id: int | None = None,
                 row_filter: object | None = None) -> dict[str, dict[str, int]]:
    """Rows visible per source key and run: ``{key_id: {run_id: rows}}``."""
    from pyiceberg.expressions import AlwaysTrue

    scan = table.scan(selected_fields=(SOURCE_COLUMN, RUN_COLUMN),
                      row_filter=row_filter if row_filter is not None else AlwaysTrue(),  # type: ignore[arg-type]
                      snapshot_id=snapshot_id)
    if table.current_snapshot() is None and snapshot_id is None:
        return {}
    counts = scan.to_arrow().group_by([SOURCE_COLUMN, RUN_COLUMN]).aggregate([([], "count_all")])
    found: dict[str, dict[str, int]] = {}
    for row in counts.to_pylist():
        found.setdefault(row[SOURCE_COLUMN], {})[row[RUN_COLUMN]] = row["count_all"]
    return found


def _replaced_since(table: Table, snapshot_id: int, key_id: str) -> bool:
    """Whether a snapshot after ``snapshot_id`` on main committed rows of ``key_id``."""
    metadata = table.metadata
    snapshot = metadata.current_snapshot()
    while snapshot is not None and snapshot.snapshot_id != snapshot_id:
        if (snapshot.summary is not None
                and snapshot.summary.additional_properties.get(SOURCE_PROPERTY) == key_id):
            return True
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return False


def revert_run(table: Table, source: Source) -> int | None:
    """Give ``source``'s key back the rows it had before ``source.run_id`` committed.

    Keys whose rows the run's commit displaced (a natural key's ``replace``) get theirs
    back in the same snapshot.

    For a run that committed some tables and was then refused: one snapshot replaces the
    run's rows with the key's rows as of the snapshot before the run's commit (none when
    the run published the key's first version). Nothing to do when the run committed
    nothing here, or when a later run already replaced the key's rows.
    """
    committed = run_snapshot(table, source.run_id)
    if committed is None or _replaced_since(table, committed, source.key_id):
        return None
    runs = visible_runs(table, row_filter=equal(SOURCE_COLUMN, source.key_id))
    if not set(runs.get(source.key_id, {})) <= {source.run_id}:
        return None
    snapshot = table.metadata.snapshot_by_id(committed)
    parent = snapshot.parent_snapshot_id if snapshot is not None else None
    schema = table.schema().as_arrow()

    def before(key_id: str) -> pa.Table:
        if parent is None:
            return schema.empty_table()
        return table.scan(row_filter=equal(SOURCE_COLUMN, key_id),
                          snapshot_id=parent).to_arrow().cast(schema)

    revert = Source(f"revert-{source.run_id}", source.key_id, source.key, source.version_id,
                    source.digest)
    return replace_rows(table, before(source.key_id), revert,
                        properties={REVERTED_PROPERTY: source.run_id},
                        displaced={key: before(key) for key in displaced_keys(table, committed)})
