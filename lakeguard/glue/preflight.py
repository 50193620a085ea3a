"""Read a raw object once with the Lambda path's CSV reader before Spark reads it.

Spark's CSV reader forgives what the Lambda path refuses: it replaces bytes that are not
valid in the encoding with U+FFFD and drops the extra fields of a malformed row. So the
anonymise job first streams the object through :func:`lakeguard.transforms.csvfile.open_csv`
on the driver: the same header, the same refusals with the same messages, the row count
Spark must find too, and the input digest for the audit record, in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakeguard.aws import client
from lakeguard.contracts.model import Contract
from lakeguard.s3io import HashingStream, split_uri
from lakeguard.transforms.csvfile import check_header, open_csv


@dataclass(frozen=True)
class Preflight:
    """What the Arrow reader found in the whole object."""

    header: list[str]
    rows: int
    line_breaks: int
    sha256: str

    @property
    def one_row_per_line(self) -> bool:
        """Whether every row is one line (no line break inside a quoted value, no blank line).

        Spark splits such a file into parallel tasks; otherwise it must read it whole
        (``multiLine``) to keep quoted line breaks inside their value.
        """
        return self.line_breaks in (self.rows, self.rows + 1)


def _open(uri: str) -> Any:
    if uri.startswith("s3://"):
        bucket, key = split_uri(uri)
        return client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    return Path(uri).open("rb")


def preflight(uri: str, contract: Contract) -> Preflight:
    """Stream the object at ``uri`` (``s3://`` or a local path) through the Arrow reader.

    Raises what the Lambda path raises for the same bytes (a header that does not match,
    a byte the encoding refuses, a row with the wrong number of fields).
    """
    stream = HashingStream(_open(uri))
    try:
        csv = open_csv(stream, contract)  # type: ignore[arg-type]
        check_header(csv.header, contract)
        for _ in csv:
            pass
    finally:
        stream.close()
    return Preflight(csv.header, csv.rows, csv.stream.line - 1, stream.digest.hexdigest())
