"""k-anonymity on quasi-identifiers: measure it, and suppress rows of too-small classes.

A row whose combination of quasi-identifiers (age band, departement, ...) is shared by
fewer than k rows could single a person out; such rows are removed before anything is
written, and counted, so the run's report states the achieved k and what it cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class KAnonymity:
    """Outcome of enforcing k on one output."""

    k_required: int
    k_achieved: int | None
    rows_suppressed: int
    classes: int


_NULL = "\x00null"


def _keys(table: pa.Table, quasi_identifiers: list[str]) -> pa.Table:
    """Quasi-identifiers as text, nulls as a value of their own (joins drop null keys)."""
    return pa.table({q: pc.fill_null(pc.cast(table[q], pa.string()), _NULL)
                     for q in quasi_identifiers})


def class_sizes(table: pa.Table, quasi_identifiers: list[str]) -> pa.Table:
    """Size of every equivalence class (nulls form their own class)."""
    return _keys(table, quasi_identifiers).group_by(quasi_identifiers, use_threads=False) \
        .aggregate([([], "count_all")])


def enforce(table: pa.Table, quasi_identifiers: list[str], k: int) -> tuple[pa.Table, KAnonymity]:
    """Drop rows of classes smaller than ``k``; return the rest and the measured outcome."""
    if not quasi_identifiers or table.num_rows == 0:
        return table, KAnonymity(k, None, 0, 0)
    sizes = class_sizes(table, quasi_identifiers)
    keys = _keys(table, quasi_identifiers)
    joined = keys.append_column("__row", pa.array(range(table.num_rows), pa.int64())).join(
        sizes, keys=quasi_identifiers, join_type="left outer", use_threads=False)
    keep = joined.filter(pc.greater_equal(joined["count_all"], k))
    rows = pc.sort_indices(keep["__row"])
    kept = table.take(pc.take(keep["__row"], rows))
    kept_sizes = sizes.filter(pc.greater_equal(sizes["count_all"], k))
    achieved = pc.min(kept_sizes["count_all"]).as_py() if kept_sizes.num_rows else None
    return kept, KAnonymity(k, achieved, table.num_rows - kept.num_rows, kept_sizes.num_rows)
