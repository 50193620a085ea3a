"""Duplicates across raw objects: the same bytes under another key, the same facts twice.

The contract's ``unique`` quality rule finds duplicates within one object; these checks
look across the lake, at the quality gate, before anything is refined:

- an object whose sha256 equals that of the current published version of another key is
  a duplicate upload, quarantined as such (the ledger's digest index finds it in one query);
- a row whose natural key (``[natural_key]`` in the contract) another raw key already
  published follows the contract's ``on_conflict``: ``reject`` quarantines the file,
  ``skip`` publishes it without those rows, ``replace`` publishes them in place of the
  earlier rows (:func:`displaced_rows`); the ledger and the audit record count them.

Publish checks the natural key again against the very table state its clean commit
replaces, so two overlapping files in flight at once cannot both get their rows in: the
later one is quarantined and can be re-driven (under ``replace`` it replaces them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeguard.contracts.model import Contract, NaturalKey
from lakeguard.exceptions import DuplicateUpload, NaturalKeyConflict
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.ledger import Ledger
from lakeguard.s3io import read_bytes, split_uri, with_partition_columns, write_parquet
from lakeguard.tables.branches import branch_rows, run_branch
from lakeguard.tables.expressions import all_of, equal, not_equal, one_of
from lakeguard.tables.spec import RUN_COLUMN, SOURCE_COLUMN

if TYPE_CHECKING:
    import boto3
    from pyiceberg.table import Table

_INDEX = "__lakeguard_row"


def check_not_a_copy(ref: ObjectRef, digest: str | None, ledger: Ledger) -> None:
    """Refuse an object whose bytes another key's current published version already holds."""
    if not digest:
        return
    for entry in ledger.published_with_digest(digest):
        if entry.key != ref.key and ledger.is_current(entry):
            raise DuplicateUpload(
                f"s3://{ref.bucket}/{ref.key} holds the very bytes (sha256 {digest[:12]}...) "
                f"published from s3://{entry.bucket}/{entry.key} (version {entry.version_id}); "
                "it is not published twice. Delete one of the two, or drop a corrected file "
                "under the published key")


@dataclass(frozen=True)
class Conflicts:
    """The run's rows whose natural key other raw keys already published."""

    mask: pa.Array
    sources: tuple[str, ...]

    @property
    def rows(self) -> int:
        """How many of the run's rows repeat a published natural key."""
        return int(pc.sum(self.mask).as_py() or 0)

    def describe(self, key: NaturalKey) -> str:
        """What was found, without a value of the data (keys may be pseudonyms)."""
        return (f"{self.rows} row(s) repeat a ({', '.join(key.columns)}) already published from "
                f"{len(self.sources)} other raw object(s) (clean column {SOURCE_COLUMN} = "
                f"{', '.join(self.sources[:3])}{'...' if len(self.sources) > 3 else ''})")


def find_conflicts(rows: pa.Table, published: pa.Table, key: NaturalKey) -> Conflicts:
    """Which of ``rows`` repeat a natural key of ``published`` (rows with a null part never do).

    ``published`` holds the key columns and :data:`SOURCE_COLUMN` of other keys' rows.
    """
    if not rows.num_rows or not published.num_rows:
        return Conflicts(pa.repeat(False, rows.num_rows), ())
    columns = list(key.columns)
    numbered = rows.select(columns).append_column(_INDEX, pa.array(range(rows.num_rows),
                                                                   pa.int64()))
    wanted = published.select([*columns, SOURCE_COLUMN]).cast(pa.schema(
        [numbered.schema.field(c) for c in columns] + [pa.field(SOURCE_COLUMN, pa.string())]))
    matched = numbered.join(wanted, keys=columns, join_type="inner")
    hits = pc.unique(matched[_INDEX])
    mask = pc.is_in(pa.array(range(rows.num_rows), pa.int64()), value_set=hits)
    sources = tuple(sorted(str(s) for s in pc.unique(matched[SOURCE_COLUMN]).to_pylist()))
    return Conflicts(mask, sources)


def published_keys(table: Table, rows: pa.Table, key: NaturalKey, key_id: str) -> pa.Table:
    """Natural keys (and their source) of other raw keys' rows the run's rows may repeat.

    The scan is filtered on the run's own key values, so Iceberg's column statistics skip
    every data file that cannot hold one.
    """
    if table.current_snapshot() is None or not rows.num_rows:
        return pa.table({})
    filters = [not_equal(SOURCE_COLUMN, key_id)]
    for column in key.columns:
        values = pc.unique(rows[column]).drop_null().to_pylist()
        if not values:
            return pa.table({})
        filters.append(one_of(column, set(values)))
    return table.scan(row_filter=all_of(*filters),
                      selected_fields=(*key.columns, SOURCE_COLUMN)).to_arrow()


def refuse_conflicts(conflicts: Conflicts, contract: Contract, ref: ObjectRef,
                     at_publish: bool = False) -> None:
    """Raise :class:`NaturalKeyConflict` when the contract, or the moment, says so."""
    key = contract.natural_key
    if key is None or not conflicts.rows or key.on_conflict == "replace":
        return
    if at_publish:
        raise NaturalKeyConflict(
            f"s3://{ref.bucket}/{ref.key}: {conflicts.describe(key)}, published while this run "
            f"was in flight; re-drive the object to apply {contract.path}'s on_conflict "
            f"({key.on_conflict}) to them")
    if key.on_conflict == "reject":
        raise NaturalKeyConflict(
            f"s3://{ref.bucket}/{ref.key}: {conflicts.describe(key)}; {contract.path} says "
            "on_conflict = 'reject'. Remove those rows, or send the correction under the key "
            "that published them")


@dataclass(frozen=True)
class Displacement:
    """Other raw keys' rows once the run's rows replace those of the same natural key."""

    kept: dict[str, pa.Table]
    replaced: int


def displaced_rows(table: Table, rows: pa.Table, key: NaturalKey, key_id: str) -> Displacement:
    """What each other raw key keeps once the run's rows replace its rows of the same key.

    Every row of such a key is kept (lineage included) except those whose natural key the
    run's rows repeat: the commit rewrites the key's rows as these, so the earlier facts
    are gone and the rest of that object stays published.
    """
    found = published_keys(table, rows, key, key_id)
    if not found.num_rows:
        return Displacement({}, 0)
    sources = set(found[SOURCE_COLUMN].to_pylist())
    earlier = table.scan(row_filter=one_of(SOURCE_COLUMN, sources)).to_arrow()
    run = rows.select(list(key.columns)).append_column(
        SOURCE_COLUMN, pa.repeat(pa.scalar(key_id), rows.num_rows))
    repeated = find_conflicts(earlier, run, key)
    kept = earlier.filter(pc.invert(repeated.mask))
    return Displacement({source: kept.filter(pc.equal(kept[SOURCE_COLUMN], source))
                         for source in sorted(sources)}, repeated.rows)


def skip_rows(outputs: list[str], key: NaturalKey, table: Table, key_id: str,
              session: boto3.session.Session | None) -> int:
    """Rewrite the run's staged clean objects without the rows other keys published.

    Returns how many rows were left out.
    """
    skipped = 0
    for uri in outputs:
        bucket, object_key = split_uri(uri)
        stored = pq.read_table(pa.BufferReader(read_bytes(bucket, object_key, session=session)))
        rows = with_partition_columns(stored, object_key)
        conflicts = find_conflicts(rows, published_keys(table, rows, key, key_id), key)
        if conflicts.rows:
            skipped += conflicts.rows
            write_parquet(stored.filter(pc.invert(conflicts.mask)), bucket, object_key, session)
    return skipped


def skip_rows_on_branch(table: Table, key: NaturalKey, ref: ObjectRef) -> int:
    """Rewrite the run's rows on its branch of the clean table without those others published.

    The anonymise job wrote them in files of their own, so the overwrite replaces whole
    files, on the branch only. Returns how many rows were left out.
    """
    rows = branch_rows(table, ref.run_id)
    if rows is None:
        return 0
    conflicts = find_conflicts(rows, published_keys(table, rows, key, ref.key_id), key)
    if conflicts.rows:
        table.overwrite(rows.filter(pc.invert(conflicts.mask)),
                        overwrite_filter=equal(RUN_COLUMN, ref.run_id),
                        branch=run_branch(ref.run_id))
    return conflicts.rows
