"""The rolling robust z-score: distance from the recent median in units of the recent MAD.

Median and MAD (median absolute deviation) ignore the outliers they are looking for, so
one blow-out does not widen the band that should flag the next. With ``season`` set
(e.g. 24 for hourly data with a daily cycle, 12 for monthly data) a point is compared with
the points at the same phase of earlier cycles, so Monday 9:00 is judged against earlier
Mondays at 9:00. Business users read it as "3.5 typical deviations above the usual".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lakeguard.exceptions import ModelError
from lakeguard.ml.detectors.base import Explanation, FloatArray, Params, finite

#: Makes the MAD a consistent estimator of the standard deviation for normal data.
_MAD_TO_SIGMA = 1.4826
#: Mean absolute deviation to sigma, used when more than half the window is identical.
_MEAN_AD_TO_SIGMA = 1.2533

_DEFAULTS = {"window": 100, "threshold": 3.5, "season": 0, "min_scale": 0.0,
             "min_history": 10, "cooldown": 0}


def _reference(buffer: list[float], season: int, window: int) -> np.ndarray[Any, Any]:
    """The past points a new point is compared with: same phase when seasonal."""
    if season:
        return np.asarray(buffer[-season::-season][:window])
    return np.asarray(buffer[-window:])


def _centre_and_scale(ref: np.ndarray[Any, Any], min_scale: float) -> tuple[float, float]:
    centre = float(np.median(ref))
    deviations = np.abs(ref - centre)
    scale = _MAD_TO_SIGMA * float(np.median(deviations))
    if scale == 0.0:
        scale = _MEAN_AD_TO_SIGMA * float(np.mean(deviations))
    return centre, max(scale, min_scale, 1e-9 * max(abs(centre), 1.0))


@dataclass(frozen=True)
class RobustZScore:
    """A fitted detector: its parameters and the trailing history it continues from."""

    name: ClassVar[str] = "robust_zscore"

    params: dict[str, Any]
    buffer: tuple[float, ...]

    @classmethod
    def fit(cls, history: FloatArray, params: Mapping[str, Any]) -> RobustZScore:
        """Keep the trailing points the rolling statistics need; nothing else is learnt."""
        p = Params(cls.name, params, _DEFAULTS)
        window, season = p.integer("window", 3), p.integer("season", 0)
        p.number("threshold", 0.0)
        p.number("min_scale", 0.0)
        p.integer("cooldown", 0)
        clean = finite(history, cls.name, max(p.integer("min_history", 1), season + 1))
        keep = window * max(season, 1)
        return cls(p.values, tuple(float(v) for v in clean[-keep:]))

    def score(self, values: FloatArray) -> Explanation:
        """Score each point against the window before it, then let it join the window."""
        window, season = int(self.params["window"]), int(self.params["season"])
        threshold, min_scale = float(self.params["threshold"]), float(self.params["min_scale"])
        buffer, keep = list(self.buffer), window * max(season, 1)
        n = values.size
        lower, upper, scores = np.empty(n), np.empty(n), np.zeros(n)
        for i, value in enumerate(values):
            centre, scale = _centre_and_scale(_reference(buffer, season, window), min_scale)
            lower[i], upper[i] = centre - threshold * scale, centre + threshold * scale
            if np.isnan(value):
                continue
            scores[i] = abs(value - centre) / (threshold * scale)
            buffer.append(float(value))
            if len(buffer) > 2 * keep:
                del buffer[:-keep]
        return Explanation.build(self.name, values, lower, upper, scores,
                                 int(self.params["cooldown"]))

    def to_json(self) -> dict[str, Any]:
        """Parameters and the trailing window."""
        return {"params": self.params, "state": {"buffer": list(self.buffer)}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RobustZScore:
        """Rebuild a fitted detector from :meth:`to_json` output."""
        try:
            return cls(dict(doc["params"]), tuple(float(v) for v in doc["state"]["buffer"]))
        except (KeyError, TypeError) as err:
            raise ModelError(f"not a robust_zscore model document: {err}") from err
