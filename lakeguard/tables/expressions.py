"""Row filters over the tables' columns, built once here.

pyiceberg's predicates are pydantic models whose generated signatures mypy reads as
keyword-only; the positional form they document is what they accept at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression


def equal(column: str, value: Any) -> BooleanExpression:
    """``column = value``."""
    from pyiceberg.expressions import EqualTo

    return EqualTo(column, value)  # type: ignore[call-arg,arg-type]


def not_equal(column: str, value: Any) -> BooleanExpression:
    """``column <> value``."""
    from pyiceberg.expressions import NotEqualTo

    return NotEqualTo(column, value)  # type: ignore[call-arg,arg-type]


def one_of(column: str, values: set[Any]) -> BooleanExpression:
    """``column IN (values)``."""
    from pyiceberg.expressions import In

    return In(column, values)  # type: ignore[call-arg,arg-type]


def all_of(first: BooleanExpression, *more: BooleanExpression) -> BooleanExpression:
    """``first AND more...``."""
    from pyiceberg.expressions import And

    condition = first
    for other in more:
        condition = And(condition, other)
    return condition
