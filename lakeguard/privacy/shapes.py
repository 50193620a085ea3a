"""The declared shape of a kept column: values outside it are rejected row by row.

A column kept in clear is trusted to hold a code, not free text; a producer who types a
doctor's name after the diagnosis chapter, or a person's name in the employer's SIRET,
breaks that trust silently unless the shape is checked. A contract declares, per kept
column, any of:

``pattern``
    a regular expression (RE2) the whole value must match;
``values``
    the closed list of allowed values (e.g. the ICD-10 chapters ``I`` to ``XXII``);
``check``
    a check digit: ``luhn`` (SIRET, SIREN), with La Poste's SIRETs (SIREN 356000000),
    whose digits sum to a multiple of 5 instead, accepted as INSEE documents.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Shape

#: La Poste's establishments share one SIREN and use a digit-sum rule, not Luhn.
_LA_POSTE = "356000000"


def outside(values: pa.Array, shape: Shape) -> pa.Array:
    """Rows whose non-null value breaks ``shape`` (nulls are the ``required`` rule's business)."""
    text = pc.cast(values, pa.string())
    ok = pc.is_valid(text)
    if shape.pattern is not None:
        ok = pc.and_(ok, pc.match_substring_regex(text, f"^(?:{shape.pattern})$"))
    if shape.values:
        ok = pc.and_(ok, pc.is_in(text, value_set=pa.array(list(shape.values), pa.string())))
    if shape.check == "luhn":
        ok = pc.and_(ok, luhn_valid(text))
    return pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))


def luhn_valid(text: pa.Array) -> pa.Array:
    """Whether each all-digit value passes Luhn (or La Poste's digit sum), column-wise.

    Values are left-padded with zeros to one width, which changes neither sum, so every
    digit place is one slice of the whole column.
    """
    digits_only = pc.fill_null(pc.match_substring_regex(text, r"^\d+$"), False)
    safe = pc.if_else(digits_only, text, "0")
    width = pc.max(pc.utf8_length(safe)).as_py() or 0
    padded = pc.utf8_lpad(safe, width=width, padding="0")
    luhn = pa.repeat(0, len(text)).cast(pa.int64())
    plain = luhn
    for place in range(width):
        digit = pc.cast(pc.utf8_slice_codeunits(padded, place, place + 1), pa.int64())
        plain = pc.add(plain, digit)
        if (width - 1 - place) % 2 == 1:  # every second digit from the right is doubled
            doubled = pc.multiply(digit, 2)
            digit = pc.if_else(pc.greater(doubled, 9), pc.subtract(doubled, 9), doubled)
        luhn = pc.add(luhn, digit)
    poste = pc.and_(pc.starts_with(safe, _LA_POSTE), pc.equal(_mod(plain, 5), 0))
    return pc.and_(digits_only, pc.or_(pc.equal(_mod(luhn, 10), 0), poste))


def _mod(values: pa.Array, divisor: int) -> pa.Array:
    return pc.subtract(values, pc.multiply(pc.divide(values, divisor), divisor))
