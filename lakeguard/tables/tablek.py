"""k-anonymity and l-diversity counted over the whole published clean table, at Publish.

Counted within one file, a class of the month's absences of 40-49-year-olds of one site
often holds fewer than 5 people, though the table already holds dozens like them: a
file-by-file count suppresses most rows of a small monthly file (71% of the demo file).
Counted over the published table, a class's people are those already published in it
(every other raw key's rows) plus the file's own; the file's rows are published only in
classes reaching k people and l sensitive values that way. Clean no longer suppresses
(its count is per object); Publish does, in the same commit as the rows it keeps.

The rows of the raw key being published are left out of the count: the commit replaces
them. Refined aggregates are computed from every anonymised row of the file, as
statistical offices compute tables from full microdata: their cells are protected by
their own suppression in distinct people.

It lives with the tables, not with the privacy rules it applies (:mod:`lakeguard.privacy.kanon`
counts the classes): it reads the published table by its lineage column, and the table
layer sits above the privacy layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeguard.contracts.model import Contract
from lakeguard.privacy.kanon import ClassCounter, Verdict, suppress
from lakeguard.tables import SOURCE_COLUMN
from lakeguard.tables.expressions import not_equal

if TYPE_CHECKING:
    from pyiceberg.table import Table


@dataclass(frozen=True)
class TableVerdict:
    """What Publish kept of a run's clean rows, and the guarantee it achieved."""

    verdict: Verdict
    rows_in: int
    rows_out: int

    def to_json(self) -> dict[str, Any]:
        """Counts and settings for the stage result and the audit record (no value)."""
        v = self.verdict
        return {"rows_out": self.rows_out, "rows_suppressed": self.rows_in - self.rows_out,
                "k_required": v.k_required, "k_achieved": v.k_achieved,
                "k_counted_in": f"{v.counted_in} of the published table",
                "l_required": v.l_required, "l_achieved": v.l_achieved,
                "classes": v.classes}


def published_people(table: Table, contract: Contract, key_id: str) -> pa.Table:
    """Quasi-identifiers, subject and sensitive value of every published row of other keys."""
    spec = contract.privacy
    fields = [*spec.quasi_identifiers,
              *(c for c in (spec.subject, spec.sensitive) if c is not None)]
    if table.current_snapshot() is None:
        return table.schema().as_arrow().empty_table().select(fields)
    return table.scan(row_filter=not_equal(SOURCE_COLUMN, key_id),
                      selected_fields=tuple(fields)).to_arrow()


def enforce_across_table(table: Table, rows: pa.Table, contract: Contract,
                         key_id: str) -> tuple[pa.Table, TableVerdict]:
    """The run's rows in classes of at least k people and l values over the whole table."""
    spec = contract.privacy
    counter = ClassCounter(spec)
    counter.seed(published_people(table, contract, key_id))
    for batch in rows.to_batches():
        counter.add(counter.measure(batch))
    verdict = counter.verdict()
    kept = suppress(rows, spec.quasi_identifiers, verdict.small)
    assert isinstance(kept, pa.Table)
    return kept, TableVerdict(verdict, rows.num_rows, kept.num_rows)
