"""Raw bytes -> typed clean record batches, streamed, with every rejected row explained.

The parser reads the raw CSV as text in bounded batches, checks the header against the
contract, types each column (:mod:`lakeguard.transforms.typing`), derives columns and
yields clean batches. Rows that cannot be typed are collected as :class:`Reject` records
(row number, column, reason; never the raw value, which may be personal).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakeguard.contracts.model import Contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.parallel import ordered_map
from lakeguard.privacy import nir
from lakeguard.privacy.rawvalues import RawValues, identifier_values
from lakeguard.transforms.derive import derive
from lakeguard.transforms.typing import nullify, type_column

T = TypeVar("T")

#: Hidden column carrying each row's 1-based data row number, so later stages can reject
#: a row by its place in the raw file. It never reaches clean.
ROW = "_row"

#: Raw bytes read per batch: bounds memory whatever the file size.
BLOCK_SIZE = 4 * 1024 * 1024

#: Sensitive raw values gathered before the first deduplication (see ParseReport).
_COMPACT_AT = 1 << 16


@dataclass(frozen=True)
class Reject:
    """Why one raw row was not let into clean."""

    row: int
    column: str
    reason: str


@dataclass
class ParseReport:
    """Counts for one parsed object: what came in, what went out, what was rejected.

    ``sensitive_raw`` holds the distinct raw identifiers (tagged with their kind, see
    :mod:`lakeguard.privacy.rawvalues`), only in memory, for the redactor and the leak guard.
    """

    rows_in: int = 0
    rows_out: int = 0
    rejects: list[Reject] = field(default_factory=list)
    sensitive_raw: list[pa.Array] = field(default_factory=list, repr=False)

    def add_sensitive(self, raw: pa.Array) -> None:
        """Keep one batch's sensitive raw values, deduplicated as they accumulate.

        Batches repeat the identities of earlier ones (several absences per person):
        compacting whenever the new values outnumber the kept ones bounds memory by the
        number of distinct values, not by the size of the file, at amortised linear cost.
        They stay Arrow arrays until the end: turning each batch's values into Python
        strings as they come costs twice as much as doing it once for the distinct ones.
        """
        self.sensitive_raw.append(raw)
        if sum(len(a) for a in self.sensitive_raw[1:]) > max(len(self.sensitive_raw[0]),
                                                              _COMPACT_AT):
            self.sensitive_raw = [pc.unique(pa.concat_arrays(self.sensitive_raw))]

    def raw_values(self) -> RawValues:
        """The distinct raw values the output must not contain, ready for the leak guard."""
        if not self.sensitive_raw:
            return RawValues.empty()
        return RawValues.of(pa.concat_arrays(self.sensitive_raw))

    @property
    def rows_rejected(self) -> int:
        """Number of raw rows kept out of clean."""
        return len({r.row for r in self.rejects})


def check_header(header: list[str], contract: Contract) -> None:
    """Fail with the missing, unknown or duplicated columns named."""
    expected = [c.source for c in contract.columns]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    missing = [c.source for c in contract.columns if c.required and c.source not in header]
    unknown = [h for h in header if h not in expected]
    problems = []
    if duplicated:
        problems.append(f"duplicated column(s) {duplicated}")
    if missing:
        problems.append(f"missing required column(s) {missing}")
    if unknown and contract.raw.unknown_columns == "reject":
        problems.append(f"unknown column(s) {unknown} (declare them in the contract, or set "
                        "raw.unknown_columns = 'ignore')")
    if problems:
        raise ValidationFailed(
            f"header does not match contract {contract.path}: {'; '.join(problems)}; "
            f"expected {contract.raw.delimiter.join(expected)!r}"
        )


def _reader(source: bytes | BinaryIO, contract: Contract) -> pacsv.CSVStreamingReader:
    """Open a streaming CSV reader (text columns) and check its header against the contract."""
    if isinstance(source, bytes):
        if not source.strip():
            raise ValidationFailed("the object is empty: nothing to ingest")
        source = io.BytesIO(source)
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, encoding=contract.raw.encoding),
            parse_options=pacsv.ParseOptions(delimiter=contract.raw.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={c.source: pa.string() for c in contract.columns},
                strings_can_be_null=False),
        )
    except pa.ArrowInvalid as err:
        if "Empty CSV file" in str(err):
            raise ValidationFailed("the object is empty: nothing to ingest") from err
        raise
    check_header(reader.schema.names, contract)
    return reader


def type_batch(
    batch: pa.RecordBatch, contract: Contract, first_row: int
) -> tuple[pa.RecordBatch, list[Reject], pa.Array]:
    """Type one raw text batch.

    Returns the typed rows that passed (all columns, plus derived ones), the rejects
    (1-based data rows, never the value), and the distinct raw identifiers (tagged with
    their kind), for the redactor and the leak guard.
    """
    columns: dict[str, pa.Array] = {}
    bad_any = pa.repeat(False, batch.num_rows)
    rejects: list[Reject] = []
    sensitive: list[pa.Array] = []
    for column in contract.columns:
        if column.source in batch.schema.names:
            text = nullify(batch.column(column.source), column)
        else:  # an optional column absent from this file
            text = pa.nulls(batch.num_rows, pa.string())
        reasons: dict[int, str] = {}
        if column.type == "nir":
            typed_nir, problems = nir.validate(text)
            typed, reasons = {column.name: typed_nir}, dict(problems)
            bad = pc.is_in(pa.array(range(batch.num_rows), pa.int64()),
                           value_set=pa.array(list(reasons), pa.int64()))
        else:
            typed, bad = type_column(text, column)
        if column.required:
            bad = pc.or_(bad, pc.is_null(text))
        for index in pc.indices_nonzero(bad).to_pylist():
            if not text[index].is_valid:
                reason = "missing value"
            elif index in reasons:
                reason = f"invalid NIR: {reasons[index]}"
            else:
                reason = f"not a valid {column.type}"
                if column.type == "date":
                    reason += f" (expected format {column.date_format!r})"
                if column.type == "score":
                    reason += " (expected goals-goals, e.g. '3-1')"
            rejects.append(Reject(first_row + index, column.source, reason))
        bad_any = pc.or_(bad_any, bad)
        columns.update(typed)
        sensitive.append(identifier_values(text, typed.get(column.name, text), column))
    for derived in contract.derived:
        columns[derived.name] = derive(derived.function, columns, derived.source, derived.options)
    columns[ROW] = pa.array(range(first_row, first_row + batch.num_rows), pa.int64())
    table = pa.RecordBatch.from_pydict(columns)
    raw = pa.concat_arrays(sensitive) if sensitive else pa.array([], pa.string())
    return table.filter(pc.invert(bad_any)), rejects, raw


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

    def work(numbered: tuple[int, pa.RecordBatch]) -> tuple[int, pa.RecordBatch, list[Reject],
                                                            pa.Array, T]:
        first_row, batch = numbered
        clean, rejects, raw = type_batch(batch, contract, first_row)
        return batch.num_rows, clean, rejects, raw, then(clean)

    def numbered(reader: pacsv.CSVStreamingReader) -> Iterator[tuple[int, pa.RecordBatch]]:
        first_row = 1
        for batch in reader:
            yield first_row, batch
            first_row += batch.num_rows

    try:
        batches = numbered(_reader(source, contract))
        for rows, clean, rejects, raw, result in ordered_map(work, batches, workers):
            report.rows_in += rows
            report.rows_out += clean.num_rows
            report.rejects.extend(rejects)
            if len(raw):
                report.add_sensitive(raw)
            yield result
    except pa.ArrowInvalid as err:
        raise ValidationFailed(f"the object is not a well-formed {contract.raw.format}: {err}") from err
    except UnicodeDecodeError as err:
        raise ValidationFailed(f"the object is not {contract.raw.encoding} text: {err}") from err


def parse_table(data: bytes, contract: Contract) -> tuple[pa.Table, ParseReport]:
    """Parse a whole (small) object into one table: for tests and the Spark comparison."""
    report = ParseReport()
    batches = list(parse_object(data, contract, report))
    schema = batches[0].schema if batches else None
    table = pa.Table.from_batches(batches, schema=schema) if batches else pa.table({})
    return table, report
