"""Derived clean columns, named in the contract's ``[[derived]]`` tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.exceptions import ContractError


def season(dates: pa.Array, start_month: int = 7) -> pa.Array:
    """Label a date with its season, e.g. 24 May 1997 -> ``1996-97`` when seasons start in July.

    Seasons straddle two calendar years, so the label cannot be taken from the year alone.
    """
    year = pc.year(dates)
    first = pc.if_else(pc.greater_equal(pc.month(dates), start_month), year, pc.subtract(year, 1))
    second = pc.utf8_lpad(pc.cast(pc.add(first, 1), pa.string()), width=2, padding="0")
    second = pc.utf8_slice_codeunits(second, start=-2)
    return pc.binary_join_element_wise(pc.cast(first, pa.string()), second, "-")


def days_between(start: pa.Array, end: pa.Array) -> pa.Array:
    """Whole days from ``start`` to ``end``, both included (an absence of one day is 1)."""
    return pc.add(pc.days_between(start, end), 1)


def year(dates: pa.Array) -> pa.Array:
    """The calendar year of a date, as text (a partition value)."""
    return pc.cast(pc.year(dates), pa.string())


def floor_to_band(values: pa.Array, edges: list[float]) -> pa.Array:
    """Numbers -> the lower edge of their band (null below the first edge).

    ``[0, 28, 56]`` turns 30 into 28 and 60 into 56. Shared with the privacy policy
    ``band_floor`` (:mod:`lakeguard.privacy.generalise`), which lives a layer above.
    """
    result = pa.nulls(len(values), values.type)
    integer = pa.types.is_integer(values.type)
    for low in edges:
        edge = pa.scalar(int(low) if integer else low, values.type)
        result = pc.if_else(pc.greater_equal(values, edge), edge, result)
    return result


_FUNCTIONS: dict[str, Callable[..., pa.Array]] = {"season": season, "year": year}
#: Derivations that read a second column, named by the option ``other``.
_BINARY: dict[str, Callable[[pa.Array, pa.Array], pa.Array]] = {"days_between": days_between}
FUNCTIONS: tuple[str, ...] = (*_FUNCTIONS, *_BINARY)


def derive(function: str, columns: dict[str, pa.Array], source: str,
           options: dict[str, Any]) -> pa.Array:
    """Apply the derivation ``function`` to column ``source`` with the contract's options."""
    if function in _BINARY:
        values = _BINARY[function](columns[source], columns[options["other"]])
        if "bands" not in options:
            return values
        # a banded duration is a quasi-identifier a class can hold; the exact one is not
        return floor_to_band(values, [float(e) for e in options["bands"]])
    try:
        return _FUNCTIONS[function](columns[source], **options)
    except KeyError as err:
        raise ContractError(
            f"unknown derivation {function!r}; known: {', '.join(sorted(_FUNCTIONS))}"
        ) from err
    except TypeError as err:
        raise ContractError(f"derivation {function!r}: bad options {options}: {err}") from err
