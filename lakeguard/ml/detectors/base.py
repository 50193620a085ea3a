"""What every detector shares: the per-point explanation, debouncing and parameter checks.

A detector is fitted on an entity's history and then scores the points that follow it,
in time order, each point seeing only the history and the points before it. Its
parameters and fitted state are plain JSON (no pickle), so a model version in the
registry is a readable document and the same inputs always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import numpy.typing as npt

from lakeguard.exceptions import InsufficientHistory, ModelError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Explanation:
    """Per-point output a business user can read without knowing the method.

    ``score`` is the distance from the expected value in units of the expected range's
    half-width: 1.0 sits on the range's edge, 2.0 twice as far out. ``is_anomaly`` marks
    every point outside the range; ``alert`` only the first point of each event, so a
    level shift that lasts a week raises one alert, not one per point.
    """

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    score: FloatArray
    is_anomaly: BoolArray
    alert: BoolArray
    reason: list[str]

    @classmethod
    def build(cls, detector: str, value: FloatArray, lower: FloatArray, upper: FloatArray,
              score: FloatArray, cooldown: int) -> Explanation:
        """Flag points outside ``[lower, upper]``, debounce them and say why each is flagged."""
        flagged = (value < lower) | (value > upper)
        return cls(value, lower, upper, score, flagged, debounce(flagged, cooldown),
                   [_reason(detector, v, lo, hi, s) if f else ""
                    for v, lo, hi, s, f in zip(value, lower, upper, score, flagged, strict=True)])


def _reason(detector: str, value: float, lower: float, upper: float, score: float) -> str:
    side = "above" if value > upper else "below"
    return (f"{value:g} is {side} the expected range [{lower:.3g}, {upper:.3g}] "
            f"({score:.1f}x the half-width from its centre; {detector})")


def debounce(flagged: BoolArray, cooldown: int) -> BoolArray:
    """Keep the first flagged point of each event.

    An event is a run of flagged points in which no gap is longer than ``cooldown``
    points; with ``cooldown=0`` only adjacent points belong to the same event.
    """
    alerts = np.zeros_like(flagged)
    last = -cooldown - 2
    for i in np.flatnonzero(flagged):
        if i - last > cooldown + 1:
            alerts[i] = True
        last = int(i)
    return alerts


class Detector(Protocol):
    """The interface the pipeline, the registry and the NAB evaluation rely on."""

    #: Name used in dataset contracts (``model.detector``) and model versions.
    name: ClassVar[str]

    @classmethod
    def fit(cls, history: FloatArray, params: Mapping[str, Any]) -> Self:
        """Fit on an entity's history (NaNs ignored); raise ModelError on bad params."""
        ...

    def score(self, values: FloatArray) -> Explanation:
        """Score the points that follow the history, causally and in order."""
        ...

    def to_json(self) -> dict[str, Any]:
        """``{"params": ..., "state": ...}`` with JSON-ready values only."""
        ...

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Self:
        """Rebuild a fitted detector from :meth:`to_json` output."""
        ...


class Params:
    """Reads a detector's parameters with defaults, naming the parameter and fix on error."""

    def __init__(self, detector: str, given: Mapping[str, Any], defaults: Mapping[str, Any]):
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ModelError(
                f"{detector} has no parameter(s) {', '.join(unknown)}; it takes "
                f"{', '.join(sorted(defaults))} (fix the contract's model.params)"
            )
        self.detector = detector
        self.values: dict[str, Any] = {**defaults, **given}

    def number(self, name: str, low: float, high: float = float("inf")) -> float:
        """A float within ``[low, high]``."""
        value = self.values[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ModelError(f"{self.detector} needs {name} in [{low}, {high}], got {value!r} "
                             "(fix the contract's model.params)")
        return float(value)

    def integer(self, name: str, low: int, high: int | None = None) -> int:
        """An int within ``[low, high]``."""
        value = self.values[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (
                high is not None and value > high):
            raise ModelError(f"{self.detector} needs {name} an integer >= {low}"
                             + (f" and <= {high}" if high is not None else "")
                             + f", got {value!r} (fix the contract's model.params)")
        return value


def finite(history: FloatArray, detector: str, min_history: int) -> FloatArray:
    """The history without NaNs, refusing one too short to learn from."""
    clean = history[~np.isnan(history)]
    if clean.size < max(min_history, 1):
        raise InsufficientHistory(f"{detector} needs at least {max(min_history, 1)} points of history, "
                         f"got {clean.size}")
    return clean
