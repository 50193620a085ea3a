"""The leak guard: scan an output for identifiers before it is written, and fail closed.

It looks for identifier patterns (NIR, e-mail, phone, IBAN) in every text column, and for
the exact raw values of the columns the contract drops or pseudonymises. Any hit raises
:class:`LeakDetected`: the state machine quarantines the object and nothing reaches clean.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.exceptions import LakeguardError
from lakeguard.privacy.patterns import find_identifiers

#: Shortest raw value the guard looks for: shorter ones collide with ordinary codes.
MIN_RAW_LENGTH = 3


class LeakDetected(LakeguardError):
    """An output holds an identifier: it is not written."""


def _token_hits(column: pa.Array, raw: pa.Array) -> int:
    """Cells of free text holding a raw value as a word (e.g. a surname inside a comment)."""
    words = pc.split_pattern_regex(pc.utf8_lower(column), pattern=r"[^\w]+")
    flat = pc.list_flatten(words)
    owners = pc.list_parent_indices(words)
    hit_words = pc.is_in(flat, value_set=pc.utf8_lower(raw))
    return len(pc.unique(pc.filter(owners, hit_words)))


def scan(output: pa.Table, raw_values: pa.Array,
         free_text: tuple[str, ...] = ()) -> dict[str, dict[str, int]]:
    """Hits per output column: pattern names and ``RAW_VALUE`` counts (never the values).

    Every text cell is compared with the raw values; ``free_text`` columns are also split
    into words, so a name written inside a comment is caught too.
    """
    hits: dict[str, dict[str, int]] = {}
    distinct_raw = pc.unique(raw_values.drop_null()) if len(raw_values) else raw_values
    if len(distinct_raw):  # 1-2 character values ("7", "11") are codes, not identifiers
        distinct_raw = distinct_raw.filter(pc.greater_equal(pc.utf8_length(distinct_raw),
                                                            MIN_RAW_LENGTH))
    words_raw = distinct_raw
    for name in output.column_names:
        column = output[name].combine_chunks()
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        found = find_identifiers(column)
        if len(distinct_raw):
            raw_hits = pc.sum(pc.is_in(column, value_set=distinct_raw)).as_py() or 0
            if name in free_text and len(words_raw):
                raw_hits = max(raw_hits, _token_hits(column, words_raw))
            if raw_hits:
                found["RAW_VALUE"] = int(raw_hits)
        if found:
            hits[name] = found
    return hits


def guard(output: pa.Table, raw_values: pa.Array, free_text: tuple[str, ...] = ()) -> None:
    """Raise :class:`LeakDetected` naming the columns and patterns when anything leaks."""
    hits = scan(output, raw_values, free_text)
    if hits:
        detail = "; ".join(f"column {c!r}: {', '.join(f'{k} x{v}' for k, v in found.items())}"
                           for c, found in hits.items())
        raise LeakDetected(
            f"the output would carry identifiers ({detail}); nothing was written. Fix the "
            "contract's policy for these columns (drop, pseudonymise, generalise or redact)"
        )
