"""Raw object -> anonymised clean rows, with every guarantee checked before any is released.

The object is read once, in bounded batches, whatever its size. The first pass parses,
types and applies the column policies, spills the anonymised batches to a local
temporary file and measures: rejected rows, the size of every quasi-identifier class (a
dict per class, not per row) and the distinct raw values of dropped and pseudonymised
columns. The second pass reads the spill back, drops the rows of classes smaller than k,
runs the leak guard on every batch and hands each batch to the caller's sink. Nothing
reaches the sink from a file that breaks its contract, and a leak raises before the
caller can publish what the sink received. The spill (rows after the column policies,
before k and the leak guard) lives in a private temporary directory removed on return.
Both passes work on several batches at once (:mod:`lakeguard.parallel`) and hand them on
in file order, so row numbers, rejects and outputs are those of a single thread.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.parallel import default_workers, ordered_map
from lakeguard.privacy.leakguard import guard
from lakeguard.privacy.policy import apply_policies
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.transforms.parse import ParseReport, Reject, parse_then

Source = bytes | BinaryIO
Sink = Callable[[pa.RecordBatch], None]
_SEPARATOR, _NULL = "\x1f", "\x00"
#: The first pass's clean batches wait on local disk (Lambda's /tmp), lz4-compressed:
#: reading them back costs far less than parsing and anonymising the object again.
_SPILL_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


@dataclass
class AnonymiseReport:
    """What one object's anonymisation did: counts only, never values."""

    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0
    rows_suppressed: int = 0
    #: Rows kept although a value broke a bound of ``warning`` severity (see ``warnings``).
    rows_warned: int = 0
    k_required: int | None = None
    k_achieved: int | None = None
    key_version: str | None = None
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)


def check_reject_ratio(rejected: int, rows_in: int, contract: Contract,
                       examples: list[Reject]) -> None:
    """Fail when rejected rows exceed the contract's tolerated ratio, showing a few reasons."""
    if rejected and rejected > contract.raw.max_reject_ratio * rows_in:
        shown = "; ".join(f"{f'row {r.row}' if r.row else 'a row'}, column {r.column!r}, rule "
                          f"{r.rule}: {r.reason}" for r in examples[:5])
        raise ValidationFailed(
            f"{rejected} of {rows_in} rows break contract {contract.path} (tolerated ratio "
            f"raw.max_reject_ratio = {contract.raw.max_reject_ratio}): {shown}"
        )


def class_keys(batch: pa.RecordBatch, quasi_identifiers: tuple[str, ...]) -> pa.Array:
    """One text key per row naming its quasi-identifier class (nulls are a value of their own)."""
    parts = [pc.fill_null(pc.cast(batch.column(q), pa.string()), _NULL) for q in quasi_identifiers]
    return pc.binary_join_element_wise(*parts, _SEPARATOR)


@dataclass(frozen=True)
class _Anonymised:
    """One batch after the column policies, with what the first pass measures of it."""

    clean: pa.RecordBatch
    rejects: list[Reject]
    class_sizes: dict[str, int]


def _class_sizes(clean: pa.RecordBatch, quasi: tuple[str, ...]) -> dict[str, int]:
    if not quasi or not clean.num_rows:
        return {}
    counted = pa.table({"k": class_keys(clean, quasi)}).group_by("k").aggregate(
        [([], "count_all")])
    return dict(zip(counted["k"].to_pylist(), counted["count_all"].to_pylist(), strict=True))


def _spill(source: Source, contract: Contract, key: PseudonymKey | None, spill: Path,
           parsed: ParseReport, workers: int) -> tuple[list[Reject], dict[str, int]]:
    """First pass: anonymise every batch into ``spill``; return policy rejects and class sizes."""
    quasi = contract.privacy.quasi_identifiers

    def anonymised(typed: pa.RecordBatch) -> _Anonymised:
        clean, rejects = apply_policies(typed, contract, key)
        return _Anonymised(clean, rejects, _class_sizes(clean, quasi))

    rejects: list[Reject] = []
    sizes: dict[str, int] = {}
    with pa.OSFile(str(spill), "wb") as out:
        writer: pa.ipc.RecordBatchStreamWriter | None = None
        for batch in parse_then(source, contract, parsed, anonymised, workers):
            rejects += batch.rejects
            for name, count in batch.class_sizes.items():
                sizes[name] = sizes.get(name, 0) + count
            if writer is None:
                writer = pa.ipc.new_stream(out, batch.clean.schema, options=_SPILL_OPTIONS)
            writer.write_batch(batch.clean)
        if writer is not None:
            writer.close()
    return rejects, sizes


def anonymise_stream(source: Source, contract: Contract, key: PseudonymKey | None,
                     sink: Sink, workers: int | None = None) -> AnonymiseReport:
    """Anonymise one object read once from ``source``; send clean batches to ``sink``.

    Batches are worked on ``workers`` threads (default: the cores available) and reach
    ``sink`` in file order, on the caller's thread.
    """
    workers = default_workers() if workers is None else workers
    quasi = contract.privacy.quasi_identifiers
    parsed = ParseReport()
    with tempfile.TemporaryDirectory(prefix="lakeguard-anonymise-") as folder:
        spill = Path(folder) / "clean.arrows"
        policy_rejects, sizes = _spill(source, contract, key, spill, parsed, workers)
        rejects = parsed.rejects + policy_rejects
        report = AnonymiseReport(rows_in=parsed.rows_in, rejects=rejects,
                                 warnings=parsed.warnings,
                                 key_version=key.version_id if key else None)
        report.rows_rejected = len({r.row for r in rejects})
        report.rows_warned = len({w.row for w in parsed.warnings})
        check_reject_ratio(report.rows_rejected, parsed.rows_in, contract, rejects)
        if parsed.rows_in - report.rows_rejected <= 0:
            raise ValidationFailed("the object has a header but no valid data rows")
        small = pa.array([c for c, n in sizes.items() if n < contract.privacy.k], pa.string())
        if quasi:
            report.k_required = contract.privacy.k
            report.rows_suppressed = sum(n for n in sizes.values() if n < contract.privacy.k)
            report.k_achieved = min((n for n in sizes.values() if n >= contract.privacy.k),
                                    default=None)
        raw = parsed.raw_values()
        free_text = tuple(n for c in contract.columns if c.policy == "redact"
                          for n in c.output_names)

        def released(clean: pa.RecordBatch) -> pa.RecordBatch:
            """Second pass: suppress the small classes, then the leak guard (raises on a hit)."""
            if quasi and len(small):
                clean = clean.filter(pc.invert(pc.is_in(class_keys(clean, quasi),
                                                        value_set=small)))
            guard(pa.Table.from_batches([clean]), raw, free_text)
            return clean

        with pa.OSFile(str(spill), "rb") as spilled:
            for clean in ordered_map(released, pa.ipc.open_stream(spilled), workers):
                report.rows_out += clean.num_rows
                sink(clean)
    if report.rows_out == 0:
        raise ValidationFailed("no row is left once classes smaller than k are suppressed")
    return report


def anonymise(data: bytes, contract: Contract,
              key: PseudonymKey | None) -> tuple[pa.Table, AnonymiseReport]:
    """Anonymise an object held in memory into one table (tests, tools, the Spark check)."""
    batches: list[pa.RecordBatch] = []
    report = anonymise_stream(data, contract, key, batches.append)
    return pa.Table.from_batches(batches), report
