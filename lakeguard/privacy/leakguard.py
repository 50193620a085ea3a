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


class LeakDetected(LakeguardError):
    """An output holds an identifier: it is not written."""


def scan(output: pa.Table, raw_values: pa.Array) -> dict[str, dict[str, int]]:
    """Hits per output column: pattern names and ``RAW_VALUE`` counts (never the values)."""
    hits: dict[str, dict[str, int]] = {}
    distinct_raw = pc.unique(raw_values.drop_null()) if len(raw_values) else raw_values
    for name in output.column_names:
        column = output[name].combine_chunks()
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        found = find_identifiers(column)
        if len(distinct_raw):
            raw_hits = pc.sum(pc.is_in(column, value_set=distinct_raw)).as_py() or 0
            if raw_hits:
                found["RAW_VALUE"] = int(raw_hits)
        if found:
            hits[name] = found
    return hits


def guard(output: pa.Table, raw_values: pa.Array) -> None:
    """Raise :class:`LeakDetected` naming the columns and patterns when anything leaks."""
    hits = scan(output, raw_values)
    if hits:
        detail = "; ".join(f"column {c!r}: {', '.join(f'{k} x{v}' for k, v in found.items())}"
                           for c, found in hits.items())
        raise LeakDetected(
            f"the output would carry identifiers ({detail}); nothing was written. Fix the "
            "contract's policy for these columns (drop, pseudonymise, generalise or redact)"
        )
