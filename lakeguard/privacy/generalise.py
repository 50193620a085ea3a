"""Generalisation of quasi-identifiers.

Postcode to departement, birth date to age band or year, dates to month, numbers to bands
or a top code. Each returns the generalised array and the rows that could not be
generalised (which are rejected, not passed through).
"""

from __future__ import annotations

import itertools
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.transforms.derive import floor_to_band

Mask: TypeAlias = pa.Array


def departement(postcodes: pa.Array) -> tuple[pa.Array, Mask]:
    """French postcode -> departement code.

    Corsica's postcodes all start with 20: 200xx-201xx are Corse-du-Sud (2A), 202xx-206xx
    Haute-Corse (2B). Overseas departements are 971-976 (three digits).
    """
    text = pc.utf8_trim_whitespace(postcodes)
    valid = pc.match_substring_regex(text, r"^\d{5}$")
    head2 = pc.utf8_slice_codeunits(text, 0, 2)
    head3 = pc.utf8_slice_codeunits(text, 0, 3)
    corsica = pc.if_else(pc.less(head3, "202"), "2A", "2B")
    overseas = pc.and_(pc.equal(head2, "97"), pc.is_in(head3, value_set=pa.array(
        ["971", "972", "973", "974", "975", "976"])))
    code = pc.if_else(pc.equal(head2, "20"), corsica, pc.if_else(overseas, head3, head2))
    code = pc.if_else(pc.and_(pc.equal(head2, "97"), pc.invert(overseas)),
                      pa.scalar(None, pa.string()), code)
    code = pc.if_else(pc.equal(head2, "00"), pa.scalar(None, pa.string()), code)
    result = pc.if_else(valid, code, pa.scalar(None, pa.string()))
    return result, pc.and_(pc.is_valid(postcodes), pc.is_null(result))


def age_band(birth: pa.Array, at: pa.Array, width: int = 5) -> tuple[pa.Array, Mask]:
    """Age at the event date, as a band: ``35-39`` for width 5.

    Leap-day births age on 1 March in common years (the day after 28 February).
    """
    years = pc.subtract(pc.year(at), pc.year(birth))
    before_birthday = pc.or_(
        pc.less(pc.month(at), pc.month(birth)),
        pc.and_(pc.equal(pc.month(at), pc.month(birth)), pc.less(pc.day(at), pc.day(birth))),
    )
    age = pc.subtract(years, pc.cast(before_birthday, pa.int64()))
    low = pc.multiply(pc.divide(age, width), width)
    band = pc.binary_join_element_wise(pc.cast(low, pa.string()),
                                       pc.cast(pc.add(low, width - 1), pa.string()), "-")
    bad = pc.or_(pc.less(age, 0), pc.greater(age, 120))
    both = pc.and_(pc.is_valid(birth), pc.is_valid(at))
    return pc.if_else(bad, pa.scalar(None, pa.string()), band), pc.and_(both, bad)


def birth_year(birth: pa.Array) -> tuple[pa.Array, Mask]:
    """Birth date -> birth year."""
    return pc.year(birth), _none(birth)


def month(dates: pa.Array) -> tuple[pa.Array, Mask]:
    """Date -> first day of its month (a date, so it still sorts and partitions as one)."""
    return pc.floor_temporal(dates, unit="month"), _none(dates)


def bands(values: pa.Array, edges: list[float]) -> tuple[pa.Array, Mask]:
    """Numbers -> labelled bands between ``edges``: ``[0, 8, 16]`` gives 0-8, 8-16, 16+."""
    labels = [f"{_fmt(a)}-{_fmt(b)}" for a, b in itertools.pairwise(edges)]
    labels.append(f"{_fmt(edges[-1])}+")
    result = pa.nulls(len(values), pa.string())
    for index, low in enumerate(edges):
        in_band = pc.greater_equal(values, low)
        result = pc.if_else(in_band, labels[index], result)
    below = pc.less(values, edges[0])
    return pc.if_else(below, pa.scalar(None, pa.string()), result), below.fill_null(False)


def band_floor(values: pa.Array, edges: list[float]) -> tuple[pa.Array, Mask]:
    """Numbers -> the lower edge of their band: ``[0, 28, 56]`` turns 30 into 28, 60 into 56.

    Unlike :func:`bands` the result is still a number, so it can be summed; it carries no
    more than the band does (hours worked, say, banded as the duration they follow). The
    flooring itself lives in :mod:`lakeguard.transforms.derive`, which bands derived
    durations the same way; here the values below the first edge are also rejected.
    """
    result = floor_to_band(values, edges)
    below = pc.less(values, edges[0])
    return result, below.fill_null(False)


def top_code(values: pa.Array, top: float) -> tuple[pa.Array, Mask]:
    """Cap numbers at ``top`` so rare extreme values do not single anyone out."""
    return pc.min_element_wise(values, pa.scalar(top, values.type)), \
        _none(values)


def _none(values: pa.Array) -> Mask:
    """A mask rejecting no row: these generalisations cannot fail on a typed value."""
    mask: Mask = pa.repeat(False, len(values))
    return mask


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
