"""The leak guard: scan the output after redaction, and fail closed if an identifier remains.

It does not trust the redactor. It folds every text cell again and reads it through its
own views:

* the *joined view*, where up to three separators between two digits are removed, so a
  NIR or a phone number written with any spacing becomes one run of digits; NIR-shaped
  runs (13 characters, or 15 with the key, bounded by non-digits) and French or valid
  international phone numbers are leaks;
* the *dated view*, where French month names become their numbers before digits are
  joined: a run equal to any written form of a birth date of the object is a leak;
* the digit runs as written: a run equal to a postcode of the object is a leak;
* the words of free-text columns: a word of a name (or id) of the object is a leak;
* whole cells: a cell equal to a raw identifier of the object is a leak;
* e-mail addresses (spelled-out too) and IBANs.

Pseudonymised columns are compared with nothing: they are HMACs, not raw text. The error
names the rows, the columns and the kinds found, never a value, so it can go into the
ledger, the quarantine report and the logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.exceptions import LakeguardError
from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.rawvalues import RawValues
from lakeguard.privacy.detectors import EMAIL, IBAN, MONTH_NAMES, is_phone

#: Hits named in a :class:`LeakDetected` message at most.
SHOWN = 10

_JOIN = r"([0-9ab])[^a-zA-Z0-9]{1,3}([0-9ab])"
_NIR_RUN = (r"(^|[^0-9])[1-478][0-9]{2}(0[1-9]|1[0-2]|20|3[0-9]|4[0-2]|[5-9][0-9])"
            r"([0-9]{2}|2[ab])[0-9]{6}([0-9]{2})?([^0-9]|$)")
_PHONE_RUN = r"(^|[^0-9+])((\+|00)330?|0)[1-9][0-9]{8}([^0-9]|$)"
_PHONE_INTERNATIONAL = r"(\+|\b00)[1-9][0-9]{6,14}"
_MONTH_NUMBERS = {name: f"{number:02d}" for names, number in (
    (("janvier", "janv"), 1), (("fevrier", "fevr", "fev"), 2), (("mars",), 3),
    (("avril", "avr"), 4), (("mai",), 5), (("juin",), 6), (("juillet", "juil"), 7),
    (("aout",), 8), (("septembre", "sept"), 9), (("octobre", "oct"), 10),
    (("novembre", "nov"), 11), (("decembre", "dec"), 12)) for name in names}
assert set(_MONTH_NUMBERS) == set(MONTH_NAMES)


class LeakDetected(LakeguardError):
    """An output holds an identifier: it is not written."""


@dataclass(frozen=True)
class Hit:
    """One identifier found: where (output row, column) and what kind, never the value."""

    row: int | None
    column: str
    kind: str


@dataclass
class Findings:
    """Every hit of a scan: counts per column and kind, and the first hits with their rows."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    first: list[Hit] = field(default_factory=list)

    def add(self, column: str, kind: str, rows: list[int | None]) -> None:
        """Count ``rows`` hits of ``kind`` in ``column`` and remember the first few."""
        if not rows:
            return
        found = self.counts.setdefault(column, {})
        found[kind] = found.get(kind, 0) + len(rows)
        self.first += [Hit(r, column, kind) for r in rows[:SHOWN - len(self.first)]]

    def __bool__(self) -> bool:
        return bool(self.counts)

    def message(self) -> str:
        """Rows, columns and kinds; the values are never shown."""
        where = "; ".join(f"row {h.row} column {h.column!r}: {h.kind}" if h.row is not None
                          else f"column {h.column!r}: {h.kind}" for h in self.first)
        total = sum(n for kinds in self.counts.values() for n in kinds.values())
        return f"{where} ({total} in all)"


def _joined(folded: pa.Array) -> pa.Array:
    """Digits (and Corsica's ``2a``/``2b``) with up to three separators between them joined."""
    return _until_stable(folded, _JOIN)


def _until_stable(values: pa.Array, pattern: str) -> pa.Array:
    """Replace ``pattern`` by its two groups until nothing changes.

    A match consumes the digit on its right, so one pass joins every other gap of
    ``1 2 3 4``; a few passes join them all (each one at least halves what is left).
    """
    for _ in range(6):
        joined = pc.replace_substring_regex(values, pattern, r"\1\2")
        if joined.equals(values):
            break
        values = joined
    return values


def _dated(folded: pa.Array) -> pa.Array:
    """Month names turned into their numbers, then digits joined (``12 mars 85`` -> ``120385``)."""
    named = pc.fill_null(pc.match_substring_regex(
        folded, r"\b(" + "|".join(_MONTH_NUMBERS) + r")\b"), False)
    if pc.any(named).as_py():
        subset = pc.filter(folded, named)
        subset = pc.replace_substring_regex(subset, r"\b1er\b", "1")
        for name, number in sorted(_MONTH_NUMBERS.items(), key=lambda kv: -len(kv[0])):
            subset = pc.replace_substring_regex(subset, rf"\b{name}\b\.?", number)
        folded = pc.replace_with_mask(folded, named, subset)
    return _until_stable(folded, r"([0-9])[^a-zA-Z0-9]{1,3}(?:de )?([0-9])")


def _cells_with_piece(cells: pa.Array, values: pa.Array, separators: str) -> pa.Array:
    """Cells that, split on ``separators``, hold a piece equal to one of ``values``."""
    if not len(values) or not len(cells):
        return pa.repeat(False, len(cells))
    pieces = pc.split_pattern_regex(cells, pattern=separators)
    hit = pc.is_in(pc.list_flatten(pieces), value_set=values)
    owners = pc.filter(pc.list_parent_indices(pieces), hit)
    held = np.zeros(len(cells), np.bool_)  # numpy: a Python range per call cost ~70 ns a cell
    held[owners.to_numpy(zero_copy_only=False)] = True
    return pa.array(held)


def _runs_in(view: pa.Array, values: pa.Array) -> pa.Array:
    """Cells with a maximal run of digits equal to one of ``values``."""
    return _cells_with_piece(view, values, r"[^0-9]+")


def _words_in(folded: pa.Array, words: pa.Array) -> pa.Array:
    """Cells holding a word (a run of letters) found in ``words``."""
    return _cells_with_piece(folded, words, r"[^\p{L}]+")


def _matches(values: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _international(joined: pa.Array) -> pa.Array:
    """Cells with a ``+``/``00`` number that ``phonenumbers`` reads as valid."""
    candidates = _matches(joined, _PHONE_INTERNATIONAL)
    if not pc.any(candidates).as_py():
        return candidates
    import re

    pattern = re.compile(_PHONE_INTERNATIONAL)
    found = [any(is_phone(m.group()) for m in pattern.finditer(text))
             for text in pc.filter(joined, candidates).to_pylist()]
    return pc.replace_with_mask(candidates, candidates, pa.array(found, pa.bool_()))


def _digit_kinds(folded: pa.Array, raw: RawValues) -> dict[str, pa.Array]:
    """The kinds only a cell holding digits can hold."""
    joined = _joined(folded)
    return {
        "NIR": _matches(joined, _NIR_RUN),
        "PHONE": pc.or_(_matches(joined, _PHONE_RUN), _international(joined)),
        "IBAN": _matches(folded, IBAN),
        "BIRTH_DATE": _runs_in(_dated(folded), raw.birth_forms),
        "POSTCODE": _runs_in(folded, raw.postcodes),
    }


def _kinds(folded: pa.Array, raw: RawValues, free_text: pa.Array) -> dict[str, pa.Array]:
    """For distinct folded cells: one mask per kind of identifier they hold.

    ``free_text`` marks the cells of free-text columns, the only ones read word by word.
    Digit-borne kinds are looked for only in cells with a digit.
    """
    none = pa.repeat(False, len(folded))
    digits = pc.fill_null(pc.match_substring_regex(folded, "[0-9]"), False)
    found: dict[str, pa.Array] = {"EMAIL": _matches(folded, EMAIL)}
    if pc.any(digits).as_py():
        for kind, mask in _digit_kinds(pc.filter(folded, digits), raw).items():
            found[kind] = pc.replace_with_mask(none, digits, mask)
    for kind, values in raw.exact.items():
        hits = values.contains(folded)
        if hits.any():
            found[kind.upper()] = pc.or_(found.get(kind.upper(), none), pa.array(hits))
    if pc.any(free_text).as_py():
        words = _words_in(pc.filter(folded, free_text), raw.words)
        found["NAME"] = pc.or_(found.get("NAME", none),
                               pc.replace_with_mask(none, free_text, words))
    return found


def scan(output: pa.Table, raw: RawValues, free_text: tuple[str, ...] = (),
         skip: tuple[str, ...] = (), row_column: str | None = None) -> Findings:
    """Every identifier left in the text columns of ``output`` (``skip``: pseudonyms).

    The distinct cells of every text column are folded and scanned together, once; the
    rows are taken from ``row_column`` (the raw data row) when the output carries it.
    """
    findings = Findings()
    names, encoded = [], []
    for name in output.column_names:
        if name in skip or name == row_column:
            continue
        column = output[name].combine_chunks()
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            names.append(name)
            encoded.append(pc.dictionary_encode(column.cast(pa.string())))
    if not names:
        return findings
    distinct = pa.concat_arrays([e.dictionary for e in encoded])
    sizes = [len(e.dictionary) for e in encoded]
    free = pa.array([name in free_text for name, n in zip(names, sizes, strict=True)
                     for _ in range(n)], pa.bool_())
    kinds = _kinds(fold(distinct), raw, free)
    for kind, mask in kinds.items():
        if not pc.any(mask).as_py():
            continue
        offset = 0
        for name, codes, size in zip(names, encoded, sizes, strict=True):
            hit = pc.indices_nonzero(mask.slice(offset, size))
            offset += size
            if not len(hit):
                continue
            hit_rows = pc.fill_null(pc.is_in(codes.indices, value_set=hit.cast(
                codes.indices.type)), False)
            if row_column is not None:
                rows: list[int | None] = pc.filter(output[row_column].combine_chunks(),
                                                   hit_rows).to_pylist()
            else:
                rows = [None] * int(pc.sum(hit_rows).as_py() or 0)
            findings.add(name, kind, rows)
    return findings


def guard(output: pa.Table, raw: RawValues, free_text: tuple[str, ...] = (),
          skip: tuple[str, ...] = (), row_column: str | None = None) -> None:
    """Raise :class:`LeakDetected` naming rows, columns and kinds when anything remains."""
    findings = scan(output, raw, free_text, skip, row_column)
    if findings:
        raise LeakDetected(
            f"the output would carry identifiers: {findings.message()}; nothing was written. "
            "Fix the contract's policy for these columns (drop, pseudonymise, generalise or "
            "redact), or the rows at the source")
