"""Raw object -> anonymised clean table, with every guarantee checked before it is returned.

Parse and type (streamed), apply the column policies, enforce k-anonymity on the
quasi-identifiers, then run the leak guard. The caller writes only what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from lakeguard.contracts.model import Contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.privacy.kanon import enforce
from lakeguard.privacy.leakguard import guard
from lakeguard.privacy.policy import apply_policies
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.transforms.parse import ParseReport, Reject, parse_object


@dataclass
class AnonymiseReport:
    """What one object's anonymisation did: counts only, never values."""

    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0
    rows_suppressed: int = 0
    k_required: int | None = None
    k_achieved: int | None = None
    key_version: str | None = None
    rejects: list[Reject] = field(default_factory=list)


def check_reject_ratio(rejected: int, rows_in: int, contract: Contract,
                       examples: list[Reject]) -> None:
    """Fail when rejected rows exceed the contract's tolerated ratio, showing a few reasons."""
    if rejected and rejected > contract.raw.max_reject_ratio * rows_in:
        shown = "; ".join(f"row {r.row} column {r.column!r}: {r.reason}" for r in examples[:5])
        raise ValidationFailed(
            f"{rejected} of {rows_in} rows break contract {contract.path} (tolerated ratio "
            f"raw.max_reject_ratio = {contract.raw.max_reject_ratio}): {shown}"
        )


def anonymise(data: bytes, contract: Contract,
              key: PseudonymKey | None) -> tuple[pa.Table, AnonymiseReport]:
    """Anonymise one raw object into a clean table (partition columns included)."""
    parsed = ParseReport()
    rejects: list[Reject] = []
    batches = []
    for typed in parse_object(data, contract, parsed):
        clean, policy_rejects = apply_policies(typed, contract, key)
        rejects += policy_rejects
        batches.append(clean)
    rejects = parsed.rejects + rejects
    report = AnonymiseReport(rows_in=parsed.rows_in, rejects=rejects,
                             key_version=key.version_id if key else None)
    report.rows_rejected = len({r.row for r in rejects})
    check_reject_ratio(report.rows_rejected, parsed.rows_in, contract, rejects)
    table = pa.Table.from_batches(batches) if batches else pa.table({})
    if table.num_rows == 0:
        raise ValidationFailed("the object has a header but no valid data rows")
    table, kanon = enforce(table, list(contract.privacy.quasi_identifiers), contract.privacy.k)
    report.rows_suppressed = kanon.rows_suppressed
    report.k_required = kanon.k_required if contract.privacy.quasi_identifiers else None
    report.k_achieved = kanon.k_achieved
    free_text = tuple(n for c in contract.columns if c.policy == "redact" for n in c.output_names)
    guard(table, parsed.raw_values(), free_text)
    report.rows_out = table.num_rows
    return table, report
