"""Raw object -> anonymised clean rows, with every guarantee checked before any is released.

The object is read once, in bounded batches, whatever its size. The first pass parses,
types and applies the column policies (free text folded, its patterns and the row's own
values redacted), spills the anonymised batches to a local temporary file and measures:
rejected rows, the people and sensitive values of every quasi-identifier class
(:mod:`lakeguard.privacy.kanon`) and the object's raw identifiers
(:mod:`lakeguard.identifiers.rawvalues`). The second pass reads the spill back, drops the
rows of classes with fewer than k people or l sensitive values, replaces in free text
every word of a name the object holds (known only now that it has all been read), runs
the leak guard on every batch and hands each batch to the caller's sink. Nothing
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

from lakeguard.contracts.model import Contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.identifiers.rawvalues import RawValues
from lakeguard.identifiers.words import redact_words
from lakeguard.parallel import default_workers, ordered_map
from lakeguard.privacy.kanon import ClassCounter, Measured, Verdict, suppress
from lakeguard.privacy.leakguard import guard
from lakeguard.privacy.policy import apply_policies, per_distinct
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.transforms.parse import ROW, ParseReport, Reject, parse_then

Source = bytes | BinaryIO
Sink = Callable[[pa.RecordBatch], None]
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
    l_required: int | None = None
    l_achieved: int | None = None
    #: What k counts: ``people`` (distinct subjects) or ``rows`` (no subject declared).
    k_counted_in: str | None = None
    classes: int | None = None
    key_version: str | None = None
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)

    def record(self, verdict: Verdict) -> None:
        """Take the k-anonymity and l-diversity outcome into the report."""
        if verdict.k_required is None:
            return
        self.k_required, self.k_achieved = verdict.k_required, verdict.k_achieved
        self.l_required, self.l_achieved = verdict.l_required, verdict.l_achieved
        self.k_counted_in, self.classes = verdict.counted_in, verdict.classes
        self.rows_suppressed = verdict.rows_suppressed


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


def free_text_columns(contract: Contract) -> tuple[str, ...]:
    """Clean columns holding redacted free text."""
    return tuple(n for c in contract.columns if c.policy == "redact" for n in c.output_names)


def pseudonym_columns(contract: Contract) -> tuple[str, ...]:
    """Clean columns holding keyed pseudonyms (HMACs: never compared with raw text)."""
    return tuple(n for c in contract.columns if c.policy == "pseudonymise"
                 for n in c.output_names)


def redact_names(clean: pa.RecordBatch, raw: RawValues,
                 free_text: tuple[str, ...]) -> pa.RecordBatch:
    """Replace, in every free-text column, the words of the object's names (and ids)."""
    if not free_text:
        return clean
    columns = {name: clean.column(name) for name in clean.schema.names}
    for name in free_text:
        columns[name] = per_distinct(lambda v: redact_words(v, raw.words), columns[name])
    return pa.RecordBatch.from_pydict(columns, schema=clean.schema)


@dataclass(frozen=True)
class _Anonymised:
    """One batch after the column policies, with what the first pass measures of it."""

    clean: pa.RecordBatch
    rejects: list[Reject]
    measured: Measured | None


def _spill(source: Source, contract: Contract, key: PseudonymKey | None, spill: Path,
           parsed: ParseReport, counter: ClassCounter, workers: int) -> list[Reject]:
    """First pass: anonymise every batch into ``spill``; return the policy rejects."""
    quasi = contract.privacy.quasi_identifiers

    def anonymised(typed: pa.RecordBatch) -> _Anonymised:
        clean, rejects = apply_policies(typed, contract, key, keep_row=True)
        return _Anonymised(clean, rejects, counter.measure(clean) if quasi else None)

    rejects: list[Reject] = []
    with pa.OSFile(str(spill), "wb") as out:
        writer: pa.ipc.RecordBatchStreamWriter | None = None
        for batch in parse_then(source, contract, parsed, anonymised, workers):
            rejects += batch.rejects
            if batch.measured is not None:
                counter.add(batch.measured)
            if writer is None:
                writer = pa.ipc.new_stream(out, batch.clean.schema, options=_SPILL_OPTIONS)
            writer.write_batch(batch.clean)
        if writer is not None:
            writer.close()
    return rejects


def anonymise_stream(source: Source, contract: Contract, key: PseudonymKey | None,
                     sink: Sink, workers: int | None = None,
                     suppress_classes: bool = True) -> AnonymiseReport:
    """Anonymise one object read once from ``source``; send clean batches to ``sink``.

    Batches are worked on ``workers`` threads (default: the cores available) and reach
    ``sink`` in file order, on the caller's thread. With ``suppress_classes`` false the
    classes are left whole for Publish to count over the published table
    (:mod:`lakeguard.tables.tablek`); the report then carries no k.
    """
    workers = default_workers() if workers is None else workers
    quasi = contract.privacy.quasi_identifiers
    parsed = ParseReport()
    counter = ClassCounter(contract.privacy)
    with tempfile.TemporaryDirectory(prefix="lakeguard-anonymise-") as folder:
        spill = Path(folder) / "clean.arrows"
        policy_rejects = _spill(source, contract, key, spill, parsed, counter, workers)
        rejects = parsed.rejects + policy_rejects
        report = AnonymiseReport(rows_in=parsed.rows_in, rejects=rejects,
                                 warnings=parsed.warnings,
                                 key_version=key.version_id if key else None)
        report.rows_rejected = len({r.row for r in rejects})
        report.rows_warned = len({w.row for w in parsed.warnings})
        check_reject_ratio(report.rows_rejected, parsed.rows_in, contract, rejects)
        if parsed.rows_in - report.rows_rejected <= 0:
            raise ValidationFailed("the object has a header but no valid data rows")
        verdict = counter.verdict()
        if suppress_classes:
            report.record(verdict)
        small = verdict.small if suppress_classes else pa.array([], pa.string())
        raw = parsed.raw_values()
        free_text = free_text_columns(contract)
        pseudonyms = pseudonym_columns(contract)

        def released(clean: pa.RecordBatch) -> pa.RecordBatch:
            """Second pass: suppress small classes, redact names, then the leak guard."""
            kept = suppress(clean, quasi, small)
            assert isinstance(kept, pa.RecordBatch)
            clean = redact_names(kept, raw, free_text)
            guard(pa.Table.from_batches([clean]), raw, free_text, pseudonyms, ROW)
            return clean.drop_columns([ROW])

        with pa.OSFile(str(spill), "rb") as spilled:
            for clean in ordered_map(released, pa.ipc.open_stream(spilled), workers):
                report.rows_out += clean.num_rows
                sink(clean)
    if report.rows_out == 0:
        raise ValidationFailed("no row is left once classes smaller than k are suppressed")
    return report


def anonymise(data: bytes, contract: Contract, key: PseudonymKey | None,
              suppress_classes: bool = True) -> tuple[pa.Table, AnonymiseReport]:
    """Anonymise an object held in memory into one table (tests, tools, the Spark check)."""
    batches: list[pa.RecordBatch] = []
    report = anonymise_stream(data, contract, key, batches.append,
                              suppress_classes=suppress_classes)
    return pa.Table.from_batches(batches), report
