"""The leak guard: scan an output for identifiers before it is written, and fail closed.

It looks for identifier patterns (NIR, e-mail, phone, IBAN) in every text column, and for
the exact raw values of the columns the contract drops or pseudonymises. Any hit raises
:class:`LeakDetected`: the state machine quarantines the object and nothing reaches clean.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.exceptions import LakeguardError
from lakeguard.privacy.patterns import find_identifiers

#: Shortest raw value the guard looks for: shorter ones collide with ordinary codes.
MIN_RAW_LENGTH = 3


class LeakDetected(LakeguardError):
    """An output holds an identifier: it is not written."""


#: Words of free text, for every script: RE2's ``\\w`` is ASCII-only and would cut
#: "Hélène" into "h", "l", "ne", letting an accented name through.
_NON_WORD = r"[^\p{L}\p{N}_]+"
_ONE_WORD = r"^[\p{L}\p{N}_]+$"
#: Raw values of two to four words of letters ("Jean-Pierre", "de La Fontaine") are looked
#: for as phrases in free text; values with digits (dates, spaced NIRs) only as a whole.
_PHRASE = r"^\p{L}+([^\p{L}\p{N}_]+\p{L}+){1,3}$"
_LONGEST_PHRASE = 4


@dataclass(frozen=True)
class RawValues:
    """The raw values an output must not contain, prepared once for every batch's scan.

    Hash sets of the distinct values (as typed, and lower-cased single words for the
    words of free text): each scan then looks up only the distinct cells of a batch,
    instead of rebuilding a lookup of every raw value for every column of every batch.
    ``phrases`` are the multi-word names, lower-cased with one space between words.
    """

    exact: frozenset[str]
    lowered: frozenset[str]
    phrases: pa.Array

    @classmethod
    def of(cls, raw_values: pa.Array) -> RawValues:
        """Prepare the distinct values long enough to be identifiers."""
        distinct = pc.unique(raw_values.drop_null())
        # 1-2 character values ("7", "11") are codes, not identifiers
        distinct = distinct.filter(pc.greater_equal(pc.utf8_length(distinct), MIN_RAW_LENGTH))
        lowered = pc.utf8_lower(distinct)  # only a single word can equal a word of free text
        words = lowered.filter(pc.match_substring_regex(lowered, _ONE_WORD))
        phrases = pc.replace_substring_regex(
            lowered.filter(pc.match_substring_regex(lowered, _PHRASE)), _NON_WORD, " ")
        return cls(frozenset(distinct.to_pylist()), frozenset(words.to_pylist()),
                   pc.unique(phrases))


def _token_hits(column: pa.Array, raw: RawValues) -> int:
    """Cells of free text holding a raw value as a word or a phrase of words.

    A surname inside a comment is a word; a compound first name ("Jean-Pierre") is a run
    of consecutive words of the same cell, compared as n-grams joined by one space.
    """
    words = pc.split_pattern_regex(pc.utf8_lower(column), pattern=_NON_WORD)
    flat = pc.list_flatten(words)
    owners = pc.list_parent_indices(words)
    hits = []
    found = [w for w in pc.unique(flat).to_pylist() if w in raw.lowered]
    if found:
        hits.append(pc.filter(owners, pc.is_in(flat, value_set=pa.array(found, pa.string()))))
    if len(raw.phrases):
        for n in range(2, _LONGEST_PHRASE + 1):
            starts = len(flat) - n + 1
            if starts <= 0:
                break
            grams = pc.binary_join_element_wise(*(flat.slice(i, starts) for i in range(n)), " ")
            same_cell = pc.equal(owners.slice(0, starts), owners.slice(n - 1, starts))
            matched = pc.and_(same_cell, pc.is_in(grams, value_set=raw.phrases))
            hits.append(pc.filter(owners.slice(0, starts), matched))
    if not hits:
        return 0
    return len(pc.unique(pa.concat_arrays(hits)))


def scan(output: pa.Table, raw: RawValues,
         free_text: tuple[str, ...] = ()) -> dict[str, dict[str, int]]:
    """Hits per output column: pattern names and ``RAW_VALUE`` counts (never the values).

    Every text cell is compared with the raw values; ``free_text`` columns are also split
    into words, so a name written inside a comment is caught too.
    """
    hits: dict[str, dict[str, int]] = {}
    for name in output.column_names:
        column = output[name].combine_chunks()
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        counts = pc.value_counts(column)
        values, weights = counts.field("values"), counts.field("counts")
        found = find_identifiers(values, weights)
        if raw.exact:
            cells, raw_hits = values.to_pylist(), 0
            if not raw.exact.isdisjoint(cells):  # one C-level pass in the usual, clean case
                raw_hits = sum(n for v, n in zip(cells, weights.to_pylist(), strict=True)
                               if v in raw.exact)
            if name in free_text:
                raw_hits = max(raw_hits, _token_hits(column, raw))
            if raw_hits:
                found["RAW_VALUE"] = int(raw_hits)
        if found:
            hits[name] = found
    return hits


def guard(output: pa.Table, raw: RawValues, free_text: tuple[str, ...] = ()) -> None:
    """Raise :class:`LeakDetected` naming the columns and patterns when anything leaks."""
    hits = scan(output, raw, free_text)
    if hits:
        detail = "; ".join(f"column {c!r}: {', '.join(f'{k} x{v}' for k, v in found.items())}"
                           for c, found in hits.items())
        raise LeakDetected(
            f"the output would carry identifiers ({detail}); nothing was written. Fix the "
            "contract's policy for these columns (drop, pseudonymise, generalise or redact)"
        )
