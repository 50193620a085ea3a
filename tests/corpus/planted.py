"""Absence files full of identifiers, each pushing one error path of the pipeline.

Issue 16 found whole raw rows (NIR, name, birth date, postcode) in the quarantine report,
the ledger, summary.json, the CLI and the logs: Arrow's parse error quoted the row, the
header check quoted the "unknown columns". Every file here fails (or loses rows) in its
own way, and :func:`identifiers` lists what no message may ever carry.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from lakeguard.samples.absences import HEADER, generate

ROWS = 300
#: Date of birth in the forms a French message would print it.
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Planted:
    """A file and the error path it pushes."""

    name: str
    path: str
    data: bytes


def _rows(seed: int) -> list[list[str]]:
    return list(csv.reader(io.StringIO(generate(ROWS, seed=seed, invalid_nir_rate=0.0)),
                           delimiter=";"))[1:]


def _csv(rows: list[list[str]], header: list[str] | None = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _every_tenth(rows: list[list[str]], column: str, value: str) -> list[list[str]]:
    index = HEADER.index(column)
    return [[*r[:index], value, *r[index + 1:]] if i % 10 == 3 else r
            for i, r in enumerate(rows)]


def files(seed: int = 16) -> list[Planted]:
    """One file per error path, all made of the same generated people."""
    rows = _rows(seed)
    comment = HEADER.index("commentaire")
    stray = [list(r) for r in rows]
    stray[7] = [*stray[7][:comment], stray[7][comment] + " ; " + stray[7][0]]
    unquoted = "\n".join(";".join(r) for r in [HEADER, *stray]) + "\n"
    bad_nir = [[r[0][:-2] + "00", *r[1:]] if i % 9 == 0 else r for i, r in enumerate(rows)]
    text = _csv(rows)
    return [
        Planted("no_header.csv", "header check (first row taken as the header)",
                _csv(rows, header=None).encode()),
        Planted("unquoted_separator.csv", "CSV reader: a row with one field too many",
                unquoted.encode()),
        Planted("cp1252.csv", "decoding: a byte that is not UTF-8",
                text.encode("cp1252", errors="replace")),
        Planted("utf16.csv", "decoding: a UTF-16 file", text.encode("utf-16")),
        Planted("extra_column.csv", "header check: a column named after a person",
                _csv([[*r, r[1]] for r in rows], [*HEADER, rows[0][1]]).encode()),
        Planted("bad_dates.csv", "typing: impossible dates beyond the tolerated ratio",
                _csv(_every_tenth(rows, "date_naissance", "1985-02-30")).encode()),
        Planted("bad_nir.csv", "NIR check beyond the tolerated ratio", _csv(bad_nir).encode()),
        Planted("control_characters.csv", "text checks beyond the tolerated ratio",
                _csv(_every_tenth(rows, "site", "Lyon\x00" + rows[0][1])).encode()),
        Planted("infinite_hours.csv", "numbers beyond the tolerated ratio",
                _csv(_every_tenth(rows, "heures", "1e999")).encode()),
        Planted("header_again.csv", "files pasted together: the header inside the data",
                "".join(_csv(rows[i:i + 40]) for i in range(0, ROWS, 40)).encode()),
        Planted("header_only.csv", "no data row", (";".join(HEADER) + "\n").encode()),
    ]


def identifiers(seed: int = 16) -> set[str]:
    """Every identifier planted in :func:`files`, in the forms a message could print it."""
    found: set[str] = set()
    for row in _rows(seed):
        record = dict(zip(HEADER, row, strict=True))
        nir = record["nir"]
        found |= {nir, nir.replace(" ", ""), record["nom"], record["prenom"],
                  record["date_naissance"]}
        year, month, day = _ISO.match(record["date_naissance"]).groups()  # type: ignore[union-attr]
        found |= {f"{day}/{month}/{year}", f"{year}{month}{day}"}
        found |= set(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", record["commentaire"]))
        found |= {p.strip() for p in re.findall(r"[+(\d][\d ().-]{8,}\d", record["commentaire"])}
    return {f for f in found if len(f) >= 3}


def leaks(text: str, planted: set[str]) -> list[str]:
    """The planted identifiers found in ``text`` (names as whole words).

    A plain substring test first: a regular expression opening with a look-behind scans
    the text at Python speed, which on a session's worker logs took minutes.
    """
    return sorted(p for p in planted
                  if p in text and re.search(rf"(?<![\w]){re.escape(p)}(?![\w])", text))
