"""Identifier patterns shared by redaction (scrub free text) and the leak guard (fail closed)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: Word-bounded, so a 32-hex pseudonym never matches a phone or NIR by accident.
PATTERNS: dict[str, str] = {
    "NIR": r"\b[1-478][ .]?\d{2}[ .]?(0[1-9]|1[0-2]|20|3\d|4[0-2]|[5-9]\d)[ .]?(\d{2}|2[AaBb])"
           r"[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b",
    "EMAIL": r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
    "PHONE": r"(\+33[ .]?|\b0)[1-9]([ .-]?\d{2}){4}\b",
    "IBAN": r"\b[A-Z]{2}\d{2}([ ]?[A-Z0-9]{4}){3,7}([ ]?[A-Z0-9]{1,3})?\b",
}


def redact(values: pa.Array) -> pa.Array:
    """Replace every identifier in free text with ``[NIR]``, ``[EMAIL]``, ``[PHONE]``, ``[IBAN]``."""
    for name, pattern in PATTERNS.items():
        values = pc.replace_substring_regex(values, pattern=pattern, replacement=f"[{name}]")
    return values


def find_identifiers(values: pa.Array, weights: pa.Array) -> dict[str, int]:
    """Count the cells matching each identifier pattern.

    ``values`` are distinct cells and each match counts its weight (how often the value
    occurs): a column with few distinct values is matched only once each.
    """
    found = {}
    for name, pattern in PATTERNS.items():
        matched = pc.fill_null(pc.match_substring_regex(values, pattern), False)
        hits = pc.sum(pc.filter(weights, matched)).as_py() or 0
        if hits:
            found[name] = int(hits)
    return found
