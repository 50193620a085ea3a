"""Open a raw CSV object with the one reader every path uses, and explain its failures.

The header, the data and the Spark job's pre-flight all go through ``pyarrow.csv`` with
the same options, so a byte-order mark, a quoted header or CR-only line endings are read
alike everywhere, and a file refused here is refused everywhere for the same reason.

Errors never quote the data. Arrow's own messages do (a malformed row is printed whole,
names and NIRs included), so they are replaced: a row with the wrong number of fields is
named by its data row and its field counts, a byte that is not valid in the declared
encoding by its line, its offset, the encoding the file most likely has and how to
declare it, and any other reader error by the rows read before it.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from lakeguard.contracts.model import ENCODINGS, Contract
from lakeguard.exceptions import ValidationFailed

#: Raw bytes read per batch: bounds memory whatever the file size.
BLOCK_SIZE = 4 * 1024 * 1024
#: Invalid rows named in a message, at most.
_ROWS_SHOWN = 5
#: Encodings tried, in order, to say what an undecodable file most likely is.
_CANDIDATES = ("utf-8", "cp1252", "iso8859-15")


class RawStream:
    """A read-only stream over the raw object that decodes it strictly, chunk by chunk.

    Every byte is checked against the declared encoding before Arrow sees it (Arrow would
    otherwise hand a row of invalid UTF-8 to the invalid-row handler, where decoding it
    fails outside any error path), so a bad byte fails at once with its line and offset.
    UTF-8 passes through as it came (ASCII chunks are not even decoded); other encodings
    are handed on as UTF-8.
    """

    def __init__(self, raw: BinaryIO, encoding: str, contract_path: str) -> None:
        self.raw, self.encoding, self.contract_path = raw, encoding, contract_path
        self.closed = False
        self.offset = 0  # raw bytes read so far
        self.line = 1  # the line the next raw byte is on
        self.counts_cr = False
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="strict")

    def readable(self) -> bool:
        """Arrow reads it as a file."""
        return True

    def read(self, size: int = -1) -> bytes:
        """The next bytes, as UTF-8."""
        data: bytes = self.raw.read(size)
        if self.offset == 0 and b"\r" in data[:65536]:
            self.counts_cr = True  # CR or CRLF line endings: count them too
        out, pending = data, len(self.decoder.getstate()[0])
        if self.encoding != "utf-8" or pending or not data.isascii():
            try:
                text = self.decoder.decode(data, final=not data)
            except UnicodeDecodeError as err:
                raise self.undecodable(data, err.start - pending) from None
            if self.encoding != "utf-8":
                out = text.encode("utf-8")
        self.offset += len(data)
        self.line += _line_breaks(data, self.counts_cr)
        return out

    def close(self) -> None:
        """Close the underlying stream."""
        self.closed = True
        self.raw.close()

    def undecodable(self, data: bytes, position: int) -> ValidationFailed:
        """The error for the byte at ``position`` of the chunk ``data`` just read."""
        position = max(position, 0)
        line = self.line + _line_breaks(data[:position], self.counts_cr)
        shown = f" (0x{data[position]:02X})" if position < len(data) else ""
        guess = likely_encoding(data, position, self.encoding, self.offset == 0)
        return ValidationFailed(
            f"the object is not {self.encoding} text: line {line}, byte {self.offset + position}"
            f"{shown} is not valid {self.encoding}. {guess} {_declare(self.contract_path)}")


def _line_breaks(data: bytes, counts_cr: bool) -> int:
    """Line breaks in ``data``: LF, and with ``counts_cr`` lone CRs too (CRLF counts once)."""
    breaks = data.count(b"\n")
    if counts_cr:
        breaks += data.count(b"\r") - data.count(b"\r\n")
    return breaks


def _declare(contract_path: str) -> str:
    return (f"Have the producer send UTF-8, or declare the file's encoding as "
            f"`encoding = \"...\"` under [raw] in {contract_path} (one of "
            f"{', '.join(ENCODINGS)}).")


#: How files that are not text at all begin, and what to tell their producer.
_MAGIC = {b"\x1f\x8b": "It is gzip-compressed: send the CSV itself, uncompressed.",
          b"PAR1": "It is a Parquet file: send the data as CSV.",
          b"PK\x03\x04": "It is a ZIP archive (an .xlsx workbook?): export the sheet as CSV.",
          b"%PDF": "It is a PDF document, not CSV."}


def likely_encoding(data: bytes, position: int, declared: str, at_start: bool) -> str:
    """Say what the bytes around ``position`` most likely are: which encoding, or no text."""
    if at_start and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "It starts with a UTF-16 byte-order mark: it is UTF-16, which is not supported."
    if at_start:
        for magic, what in _MAGIC.items():
            if data.startswith(magic):
                return what
    begin = data.rfind(b"\n", 0, max(position - 4096, 0)) + 1
    end = data.find(b"\n", position + 4096)
    window = data[begin:] if end < 0 else data[begin:end]
    for candidate in _CANDIDATES:
        if candidate == declared:
            continue
        try:
            window.decode(candidate)
        except UnicodeDecodeError:
            continue
        names = {"utf-8": "UTF-8", "cp1252": "cp1252 (Windows Western European, a superset "
                                              "of Latin-1)", "iso8859-15": "iso8859-15 (Latin-9)"}
        return f"The file looks like {names[candidate]}."
    return "No usual encoding decodes it: the file may be binary or damaged."


@dataclass(frozen=True)
class InvalidRow:
    """A row whose field count differs from the header's (never its text)."""

    row: int | None
    expected: int
    actual: int


@dataclass
class CsvObject:
    """An opened raw object: its header and its batches of text columns.

    Iterating yields record batches; a malformed row, a byte the encoding refuses or any
    other reader error raises :class:`~lakeguard.exceptions.ValidationFailed` naming where,
    never what.
    """

    reader: pacsv.CSVStreamingReader
    stream: RawStream
    contract: Contract
    invalid: list[InvalidRow] = field(default_factory=list)
    rows: int = 0

    @property
    def header(self) -> list[str]:
        """Column names as the reader parsed them (BOM, quotes and line endings handled)."""
        return list(self.reader.schema.names)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self.reader:
                if self.invalid:
                    raise self._invalid_rows()
                self.rows += batch.num_rows
                yield batch
        except pa.ArrowInvalid as err:
            raise _reader_error(err, self.rows) from None
        if self.invalid:
            raise self._invalid_rows()

    def _invalid_rows(self) -> ValidationFailed:
        first = self.invalid[0]
        rows = ", ".join(str(r.row) for r in self.invalid[:_ROWS_SHOWN] if r.row is not None)
        more = f" (and {len(self.invalid) - _ROWS_SHOWN} more)" \
            if len(self.invalid) > _ROWS_SHOWN else ""
        delimiter = self.contract.raw.delimiter
        return ValidationFailed(
            f"{len(self.invalid)} row(s) do not have the header's {first.expected} fields: data "
            f"row(s) {rows}{more} (data row {first.row} has {first.actual}). A {delimiter!r} "
            "inside a value must be quoted (\"...\"), and every row needs one field per column "
            "of the header (rows count from 1 after the header)")


def _reader_error(err: pa.ArrowInvalid, rows: int) -> ValidationFailed:
    """Arrow's error said again without its text, which may quote a row."""
    message = str(err)
    if "straddl" in message:
        return ValidationFailed(f"a row after data row {rows} is longer than "
                                f"{BLOCK_SIZE // (1024 * 1024)} MB: a quote left open, or not "
                                "a CSV file at all")
    if "Empty CSV" in message:
        return ValidationFailed("the object is empty: nothing to ingest")
    return ValidationFailed(f"the CSV reader failed after data row {rows} ("
                            f"{type(err).__name__}; its message is withheld because it may "
                            "quote the data)")


def open_csv(source: bytes | BinaryIO, contract: Contract) -> CsvObject:
    """Open ``source`` as the contract's CSV, every column read as text.

    Columns the contract declares are strings whatever they hold; others are read too
    (``raw.unknown_columns = "ignore"`` leaves them in raw). Reading is serial so that
    the reader numbers a malformed row.
    """
    if isinstance(source, bytes):
        if not source.strip():
            raise ValidationFailed("the object is empty: nothing to ingest")
        source = io.BytesIO(source)
    stream = RawStream(source, contract.raw.encoding, contract.path)
    invalid: list[InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        number = None if row.number is None else row.number - 1  # the header is row 1
        invalid.append(InvalidRow(number, row.expected_columns, row.actual_columns))
        return "skip"  # the object fails after this batch; the row's text is not kept

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=contract.raw.delimiter,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c.source: pa.string() for c in contract.columns},
                strings_can_be_null=False, check_utf8=False),  # RawStream checked every byte
        )
    except pa.ArrowInvalid as err:
        raise _reader_error(err, 0) from None
    return CsvObject(reader, stream, contract, invalid)


def read_header(probe: bytes, contract: Contract, whole: bool) -> list[str]:
    """The header of an object from its first bytes, parsed as the data will be.

    ``whole`` says whether ``probe`` is the whole object; if not, it is cut after its last
    line break so that the reader sees no half row.
    """
    if not whole:
        end = max(probe.rfind(b"\n"), probe.rfind(b"\r"))
        if end < 0:
            raise ValidationFailed(f"no line break in the first {len(probe)} bytes: the header "
                                "is too long, or this is not a CSV file")
        probe = probe[:end + 1]
    return open_csv(probe, contract).header


def check_header(header: list[str], contract: Contract) -> None:
    """Fail naming the missing, unknown or duplicated columns.

    Only the contract's own column names are quoted: a file without a header has data in
    its first line, so a column the contract does not know is named by its position.
    """
    expected = [c.source for c in contract.columns]
    known = set(expected)
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in known})
    missing = [c.source for c in contract.columns if c.required and c.source not in header]
    unknown = [i + 1 for i, h in enumerate(header) if h not in known]
    problems = []
    if duplicated:
        problems.append(f"duplicated column(s) {duplicated}")
    if missing:
        problems.append(f"missing required column(s) {missing}")
    if unknown and contract.raw.unknown_columns == "reject":
        problems.append(f"unknown column(s) at position(s) {unknown} (declare them in the "
                        "contract, or set raw.unknown_columns = 'ignore')")
    if problems:
        if not known.intersection(header):
            problems.insert(0, "no column of the first line is one of the contract's: is the "
                               "header missing?")
        raise ValidationFailed(
            f"header does not match contract {contract.path}: {'; '.join(problems)}; "
            f"expected {contract.raw.delimiter.join(expected)!r}"
        )
