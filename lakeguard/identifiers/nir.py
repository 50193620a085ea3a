"""The French social-security number (NIR): canonical form and validation.

A NIR is 13 characters plus a 2-digit key: sex (1 digit), birth year (2), birth month (2),
birth departement (2, ``2A``/``2B`` for Corsica, ``97``+1 digit overseas), commune (3),
order (3), key = 97 - (number mod 97), where Corsica's 2A counts as 19 and 2B as 18.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

_SHAPE = re.compile(r"^[1-478]\d{2}(0[1-9]|1[0-2]|20|3\d|4[0-2]|[5-9]\d)(\d{2}|2[AB])\d{6}\d{2}$")
_SEPARATORS = r"[\s.\-_]"


def canonical(values: pa.Array) -> pa.Array:
    """Upper case, without spaces, dots or dashes: ``1 84 12 76 451 089 46`` -> ``184127645108946``.

    Same result as removing ``_SEPARATORS`` with a regular expression and ``utf8_upper``
    over every cell, at a fraction of the cost: only cells holding something other than
    ASCII letters and digits are rewritten, the common separators as plain substrings
    (a tenth of an expression's cost), and ASCII-only columns use ``ascii_upper``.
    """
    values = _rewrite(values, _without_common_separators)
    values = _rewrite(values, lambda rest: pc.replace_substring_regex(
        rest, pattern=_SEPARATORS, replacement=""))
    ascii_only = pc.sum(pc.binary_length(values)).as_py() == pc.sum(pc.utf8_length(values)).as_py()
    return pc.ascii_upper(values) if ascii_only else pc.utf8_upper(values)


def _without_common_separators(values: pa.Array) -> pa.Array:
    for separator in (" ", ".", "-", "_"):
        values = pc.replace_substring(values, separator, "")
    return values


def _rewrite(values: pa.Array, function: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``function`` applied to the cells that are not plain ASCII letters and digits."""
    separated = pc.fill_null(pc.invert(pc.ascii_is_alnum(values)), False)
    if not pc.any(separated).as_py():
        return values
    return pc.replace_with_mask(values, separated, function(pc.filter(values, separated)))


def why_invalid(nir: str) -> str | None:
    """Return why a canonical NIR is invalid, or ``None`` when it is valid."""
    if len(nir) != 15:
        return f"a NIR has 15 characters, this one has {len(nir)}"
    if not _SHAPE.match(nir):
        if nir[0] not in "123478":
            return "the sex digit must be 1 or 2 (3, 4, 7, 8 for special cases)"
        if not nir[3:5].isdigit() or nir[3:5] in {f"{m:02d}" for m in range(13, 20)} or \
                nir[3:5] == "00":
            return "the birth month is not a month (01-12) or an INSEE placeholder (20, 30-42, 50-99)"
        return "the departement or the digits are malformed"
    department = nir[5:7]
    if department == "97" and nir[7] not in "123456":
        return "an overseas departement is 971-976"
    number = int(nir[:13].replace("2A", "19").replace("2B", "18"))
    if 97 - number % 97 != int(nir[13:]):
        return "the check key does not match (97 - number mod 97)"
    return None


#: ASCII-only form of the checks :func:`why_invalid` makes (an overseas 97 is 971-976).
#: The column-wise path only ever accepts: what it does not accept, :func:`why_invalid` judges.
_VALID_SHAPE = (r"^[1-478]\d{2}(0[1-9]|1[0-2]|20|3\d|4[0-2]|[5-9]\d)"
                r"(97[1-6]\d{5}|([0-8]\d|9[0-689]|2[AB])\d{6})\d{2}$")


def _certainly_valid(canon: pa.Array) -> pa.Array:
    """Rows whose shape and check key are right, computed column-wise; nulls are False.

    A per-row Python check cost more than all the other typing together; Python is left
    for the rare rows this does not accept.
    """
    shaped = pc.fill_null(pc.match_substring_regex(canon, _VALID_SHAPE), False)
    safe = pc.if_else(shaped, canon, "000000000000000")
    body = pc.utf8_slice_codeunits(safe, 0, 13)
    number = pc.cast(pc.replace_substring(pc.replace_substring(body, "2A", "19"), "2B", "18"),
                     pa.int64())
    remainder = pc.subtract(number, pc.multiply(pc.divide(number, 97), 97))
    key = pc.cast(pc.utf8_slice_codeunits(safe, 13, 15), pa.int64())
    return pc.and_(shaped, pc.equal(pc.subtract(97, remainder), key))


def validate(values: pa.Array) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Canonicalise NIRs; return them and (row index, reason) for every invalid one."""
    canon = canonical(values)
    suspect = pc.and_(pc.is_valid(canon), pc.invert(_certainly_valid(canon)))
    indices = pc.indices_nonzero(suspect)
    problems = []
    reasons: dict[str, str | None] = {}
    for index, value in zip(indices.to_pylist(), pc.take(canon, indices).to_pylist(),
                            strict=True):
        if value not in reasons:
            reasons[value] = why_invalid(value)
        reason = reasons[value]
        if reason is not None:
            problems.append((index, reason))
    return canon, problems


def check_key(first13: str) -> str:
    """The two-digit key of a 13-character NIR body (for generators and tests)."""
    number = int(first13.replace("2A", "19").replace("2B", "18"))
    return f"{97 - number % 97:02d}"
