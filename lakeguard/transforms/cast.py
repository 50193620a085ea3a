"""Raw text columns -> typed clean columns, with a reason for every rejected row.

Each function takes one Arrow string array and returns typed array(s) plus a boolean
mask of rows whose value could not be typed, so the caller can reject those rows with
a machine-readable reason instead of dropping them silently.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Column

_SCORE_PATTERN = r"^(?P<a>[0-9]{1,3})-(?P<b>[0-9]{1,3})$"
#: At most 18 digits: every such number fits in 64 bits, so the cast cannot fail (its error
#: would quote the cell).
_INT_PATTERN = r"^[+-]?[0-9]{1,18}$"
_FLOAT_PATTERN = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def nullify(values: pa.Array, column: Column) -> pa.Array:
    """Trim whitespace and turn the contract's null markers into nulls."""
    trimmed = pc.utf8_trim_whitespace(values)
    is_null_marker = pc.is_in(trimmed, value_set=pa.array(list(column.null_values), pa.string()))
    return pc.if_else(is_null_marker, pa.scalar(None, pa.string()), trimmed)


#: A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
_FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(text: pa.Array) -> pa.Array:
    """Prefix text that a spreadsheet would run as a formula with ``'``, as OWASP advises.

    Analysts export refined tables to spreadsheets; ``=cmd|' /C calc'!A0`` from a producer's
    file must arrive there as text, not as a command.
    """
    formula = pc.fill_null(pc.match_substring_regex(text, _FORMULA_START), False)
    if not pc.any(formula).as_py():  # the usual case: nothing to rewrite
        return text
    return pc.if_else(formula, pc.binary_join_element_wise("'", text, ""), text)


def _bad(parsed: pa.Array, text: pa.Array) -> pa.Array:
    """Rows that had text but did not parse."""
    return pc.and_(pc.is_valid(text), pc.is_null(parsed))


def type_column(text: pa.Array, column: Column) -> tuple[dict[str, pa.Array], pa.Array]:
    """Type one nullified text column; return ``{clean name: array}`` and the bad-row mask."""
    if column.type == "string":
        out = neutralise_formulas(text)
        if column.normalise == "name":
            out = pc.replace_substring_regex(out, pattern=r"\s+", replacement=" ")
        return {column.name: out}, _never(text)
    if column.type == "date":
        assert column.date_format is not None  # the loader requires it
        stamp = pc.strptime(text, format=column.date_format, unit="s", error_is_null=True)
        parsed = pc.cast(stamp, pa.date32())
        return {column.name: parsed}, _bad(parsed, text)
    if column.type == "score":
        assert column.into is not None  # the loader requires it
        matches = pc.match_substring_regex(text, _SCORE_PATTERN)
        valid_text = pc.if_else(matches, text, pa.scalar(None, pa.string()))
        parts = pc.extract_regex(valid_text, _SCORE_PATTERN)
        first = pc.cast(pc.struct_field(parts, "a"), pa.int64())
        second = pc.cast(pc.struct_field(parts, "b"), pa.int64())
        return {column.into[0]: first, column.into[1]: second}, _bad(first, text)
    pattern = _INT_PATTERN if column.type == "int" else _FLOAT_PATTERN
    target = pa.int64() if column.type == "int" else pa.float64()
    ok = pc.match_substring_regex(text, pattern)
    parsed = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), target)
    return {column.name: parsed}, _bad(parsed, text)


def _never(text: pa.Array) -> pa.Array:
    """A mask that rejects no row (a string column always types)."""
    return pa.repeat(False, len(text))
