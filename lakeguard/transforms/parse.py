"""Raw bytes -> typed clean record batches, streamed, with every rejected row explained.

The parser reads the raw CSV as text in bounded batches with the reader every path
shares (:mod:`lakeguard.transforms.csvfile`), checks the header against the contract, types
each column (:mod:`lakeguard.transforms.cast`), holds every value to the contract's rules
(:mod:`lakeguard.transforms.checks`), derives columns and yields clean batches. Rows that
fail are collected as :class:`Reject` records (row number, column, rule, reason; never the
raw value, which may be personal); rows kept despite a warning are listed the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Column, Contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.identifiers import nir
from lakeguard.identifiers.rawvalues import RawCollector, RawValues, identifier_values
from lakeguard.parallel import ordered_map
from lakeguard.transforms.cast import nullify, type_column
from lakeguard.transforms.checks import (
    Verdict,
    date_verdicts,
    number_verdicts,
    processing_day,
    text_verdicts,
)
from lakeguard.transforms.csvfile import CsvObject, check_header, open_csv
from lakeguard.transforms.derive import derive

T = TypeVar("T")

#: Hidden column carrying each row's 1-based data row number, so later stages can reject
#: a row by its place in the raw file. It never reaches clean.
ROW = "_row"


@dataclass(frozen=True)
class Reject:
    """Why one raw row was not let into clean (or, among warnings, why it is suspect).

    ``row`` is the 1-based data row (the first row after the header is 1), ``column`` the
    raw column's name, ``rule`` the machine-readable check (``type``, ``date.weekday``,
    ``text.control``...; ``policy`` when a column policy could not be applied) and
    ``reason`` what is wrong and how to fix it, never the value.
    """

    row: int
    column: str
    reason: str
    rule: str = "policy"


@dataclass
class ParseReport:
    """Counts for one parsed object: what came in, what went out, what was rejected.

    ``sensitive`` gathers the distinct raw identifiers (tagged with their kind, see
    :mod:`lakeguard.identifiers.rawvalues`) for the redactor and the leak guard.
    """

    rows_in: int = 0
    rows_out: int = 0
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)
    sensitive: RawCollector = field(default_factory=RawCollector, repr=False)

    def add_sensitive(self, raw: pa.Array) -> None:
        """Gather one batch's sensitive raw values (memory bounded: see RawCollector)."""
        self.sensitive.add(raw)

    def raw_values(self) -> RawValues:
        """The distinct raw values the output must not contain, ready for the leak guard."""
        return self.sensitive.finish()

    @property
    def rows_rejected(self) -> int:
        """Number of raw rows kept out of clean."""
        return len({r.row for r in self.rejects})


def _verdicts(text: pa.Array, typed: dict[str, pa.Array], type_failed: pa.Array,
              column: Column, contract: Contract, today: date) -> list[Verdict]:
    """Every rule a column's cells are held to, in the order a row's reason is chosen."""
    verdicts = []
    if column.required:
        verdicts.append(Verdict("missing", "missing value: the column is required in "
                                f"{contract.path} (fill it, or declare required = false)",
                                "error", pc.is_null(text)))
    verdicts.append(Verdict("type", _type_reason(column), "error", type_failed))
    if column.type == "date":
        verdicts += date_verdicts(text, typed[column.name], column, contract, today)
    elif column.type in ("int", "float", "score"):
        parts = column.typed_names if column.type == "score" else (None,)
        for name in parts:
            verdicts += number_verdicts(typed[name or column.name], column, contract, name)
    elif column.type == "string" and column.policy != "drop":
        verdicts += text_verdicts(text, column, contract)
    return verdicts


def _type_reason(column: Column) -> str:
    reason = f"not a valid {column.type}"
    if column.type == "date":
        reason += f" (expected format {column.date_format!r})"
    if column.type == "score":
        reason += " (expected goals-goals, e.g. '3-1')"
    if column.type == "int":
        reason += " (digits only, at most 18)"
    return reason


def _nir_verdicts(problems: list[tuple[int, str]], rows: int) -> list[Verdict]:
    """NIR problems grouped by reason (a NIR's own check gives one reason per row)."""
    if not problems:
        return []
    by_reason: dict[str, list[int]] = {}
    for index, reason in problems:
        by_reason.setdefault(reason, []).append(index)
    everything = pa.array(np.arange(rows, dtype=np.int64))
    return [Verdict("nir", f"invalid NIR: {reason}", "error",
                    pc.is_in(everything, value_set=pa.array(indices, pa.int64())))
            for reason, indices in by_reason.items()]


def _judge(verdicts: list[Verdict], column: Column, first_row: int, rows: int,
           rejects: list[Reject], warnings: list[Reject]) -> pa.Array:
    """Record each row's first error (and its warnings); return the rejected-row mask.

    Errors are weighed first, in order, and one is enough to reject a row; warnings then
    apply to the rows of this column no error rejected.
    """
    bad = pa.repeat(False, rows)
    ordered = [v for v in verdicts if v.severity == "error"] + \
        [v for v in verdicts if v.severity == "warning"]
    for verdict in ordered:
        if not pc.any(verdict.rows).as_py():  # the usual case: one kernel, nothing to record
            continue
        hit = pc.and_(pc.fill_null(verdict.rows, False), pc.invert(bad))
        if not pc.any(hit).as_py():
            continue
        found = rejects if verdict.severity == "error" else warnings
        found += [Reject(first_row + i, column.source, verdict.reason, verdict.rule)
                  for i in pc.indices_nonzero(hit).to_pylist()]
        if verdict.severity == "error":
            bad = pc.or_(bad, hit)
    return bad


def _distinct(raw: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """A column's distinct values and each row's index among them, when it repeats.

    Typing is a chain of per-value kernels (trim, null markers, formulas, patterns,
    ``strptime``), so it can run once per distinct value and be taken back to the rows;
    names, dates, postcodes and codes repeat a lot. A column that hardly repeats (half its
    values distinct or more) is typed row by row, which spares the encoding.
    """
    encoded = pc.dictionary_encode(raw)
    if 2 * len(encoded.dictionary) > len(raw):
        return raw, None
    return encoded.dictionary, encoded.indices


def _with_null(values: pa.Array) -> pa.Array:
    return pa.concat_arrays([values, pa.nulls(1, values.type)])


def _verdicts_by_distinct(text: pa.Array, typed: dict[str, pa.Array], failed: pa.Array,
                          rows: pa.Array, column: Column, contract: Contract,
                          today: date) -> list[Verdict]:
    """:func:`_verdicts` of the rows, judged once per distinct value (``rows`` its indices).

    Every rule is a function of one cell's text, typed value and type failure, so a row's
    verdict is its value's. A null row (a null index) reads as text and typed value null,
    not failed: that is a last distinct value, appended. Only the masks that flag some
    value are taken back to the rows; the others would record nothing (most rules flag
    nothing), which spares taking the text itself and judging each row again.
    """
    verdicts = _verdicts(_with_null(text), {n: _with_null(a) for n, a in typed.items()},
                         pa.concat_arrays([pc.fill_null(failed, False), pa.array([False])]),
                         column, contract, today)
    taken = pc.fill_null(rows, len(text))
    return [Verdict(v.rule, v.reason, v.severity, pc.take(v.rows, taken))
            for v in verdicts if pc.any(v.rows).as_py()]


@dataclass(frozen=True)
class TypedBatch:
    """One raw batch after typing and the strict checks.

    ``clean`` holds the rows that passed (typed and derived columns, plus :data:`ROW`);
    ``rejects`` and ``warnings`` name rows by their 1-based data row, never by value;
    ``sensitive`` holds the distinct raw identifiers, tagged with their kind.
    """

    clean: pa.RecordBatch
    rejects: list[Reject]
    warnings: list[Reject]
    sensitive: pa.Array


def type_batch(batch: pa.RecordBatch, contract: Contract, first_row: int,
               today: date | None = None) -> TypedBatch:
    """Type one raw text batch and hold every value to the contract's rules.

    ``today`` is the processing day ``bounds.max_days_ahead`` counts from (default: today,
    UTC).
    """
    today = processing_day() if today is None else today
    columns: dict[str, pa.Array] = {}
    bad_any = pa.repeat(False, batch.num_rows)
    rejects: list[Reject] = []
    warnings: list[Reject] = []
    sensitive: list[pa.Array] = []
    for column in contract.columns:
        raw = batch.column(column.source) if column.source in batch.schema.names \
            else pa.nulls(batch.num_rows, pa.string())  # an optional column absent here
        values, rows = (raw, None) if column.type == "nir" else _distinct(raw)
        text = nullify(values, column)
        problems: list[tuple[int, str]] = []
        if column.type == "nir":
            typed_nir, problems = nir.validate(text)
            typed, failed = {column.name: typed_nir}, pa.repeat(False, batch.num_rows)
        else:
            typed, failed = type_column(text, column)
        sensitive.append(identifier_values(text, typed.get(column.name, text), column))
        if rows is None:
            verdicts = _verdicts(text, typed, failed, column, contract, today)
        else:
            verdicts = _verdicts_by_distinct(text, typed, failed, rows, column, contract, today)
            typed = {name: pc.take(array, rows) for name, array in typed.items()}
        verdicts += _nir_verdicts(problems, batch.num_rows)
        bad_any = pc.or_(bad_any, _judge(verdicts, column, first_row, batch.num_rows,
                                         rejects, warnings))
        columns.update(typed)
    for derived in contract.derived:
        columns[derived.name] = derive(derived.function, columns, derived.source, derived.options)
    columns[ROW] = pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))
    table = pa.RecordBatch.from_pydict(columns)
    if warnings:  # a rejected row is not published: its warnings would be noise
        rejected = set(pc.indices_nonzero(bad_any).to_pylist())
        warnings = [w for w in warnings if w.row - first_row not in rejected]
    raw = pa.concat_arrays(sensitive) if sensitive else pa.array([], pa.string())
    rejects.sort(key=lambda r: r.row)  # file order; columns in contract order within a row
    warnings.sort(key=lambda r: r.row)
    return TypedBatch(table.filter(pc.invert(bad_any)), rejects, warnings, raw)


def parse_object(source: bytes | BinaryIO, contract: Contract,
                 report: ParseReport) -> Iterator[pa.RecordBatch]:
    """Stream typed batches out of one raw object (bytes or a readable stream).

    Fills ``report`` as it goes; memory holds one block of ``BLOCK_SIZE`` bytes at a time.
    """
    return parse_then(source, contract, report, _as_typed, workers=1)


def _as_typed(batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch


def parse_then(source: bytes | BinaryIO, contract: Contract, report: ParseReport,
               then: Callable[[pa.RecordBatch], T], workers: int) -> Iterator[T]:
    """Stream ``then(typed batch)`` for every batch of one raw object, in file order.

    Typing and ``then`` run on ``workers`` threads (:func:`lakeguard.parallel.ordered_map`);
    the raw object is read and ``report`` filled on the caller's thread, in order, so rows
    and rejects are numbered exactly as with one thread.
    """
    today = processing_day()  # one day for the whole object, whenever its batches run

    def work(numbered: tuple[int, pa.RecordBatch]) -> tuple[int, TypedBatch, T]:
        first_row, batch = numbered
        typed = type_batch(batch, contract, first_row, today)
        return batch.num_rows, typed, then(typed.clean)

    def numbered(csv: CsvObject) -> Iterator[tuple[int, pa.RecordBatch]]:
        first_row = 1
        for batch in csv:
            yield first_row, batch
            first_row += batch.num_rows

    csv = open_csv(source, contract)
    check_header(csv.header, contract)
    try:
        for rows, typed, result in ordered_map(work, numbered(csv), workers):
            report.rows_in += rows
            report.rows_out += typed.clean.num_rows
            report.rejects.extend(typed.rejects)
            report.warnings.extend(typed.warnings)
            if len(typed.sensitive):
                report.add_sensitive(typed.sensitive)
            yield result
    except pa.ArrowException as err:  # from a kernel: its message may quote a cell
        raise ValidationFailed(
            f"typing rows after data row {report.rows_in} failed ({type(err).__name__}; its "
            "message is withheld because it may quote the data)") from None


def parse_table(data: bytes, contract: Contract) -> tuple[pa.Table, ParseReport]:
    """Parse a whole (small) object into one table: for tests and the Spark comparison."""
    report = ParseReport()
    batches = list(parse_object(data, contract, report))
    schema = batches[0].schema if batches else None
    table = pa.Table.from_batches(batches, schema=schema) if batches else pa.table({})
    return table, report
