"""When a champion no longer fits: input drift (PSI) and an alert rate out of its range.

Both are cheap to compute on every run and easy to explain: PSI compares how this run's
values fall into the deciles of the champion's training data (0.1 is a small shift,
above 0.25 a large one, the usual credit-scoring reading); the alert rate is the share of
this run's points the champion flags, checked against a 3-sigma binomial range around the
rate it flagged in training. Either one out of bounds makes the entity retrain.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lakeguard.ml.detectors.base import FloatArray

#: Floor on a bin's share, so an empty bin does not make PSI infinite.
_EPSILON = 1e-4
#: Each bin should expect this many of the new points; fewer points, fewer bins.
_POINTS_PER_BIN = 5


def reference(values: FloatArray, bins: int = 10) -> dict[str, Any]:
    """Bin edges (inner quantiles of the training data) and the training share per bin."""
    clean = values[~np.isnan(values)]
    edges = np.unique(np.quantile(clean, np.linspace(0, 1, bins + 1)[1:-1])) if clean.size else []
    counts = np.bincount(np.searchsorted(edges, clean, side="right"), minlength=len(edges) + 1)
    return {"edges": [float(e) for e in edges],
            "shares": [float(c) / max(clean.size, 1) for c in counts]}


def psi(ref: dict[str, Any], values: FloatArray) -> float:
    """Population stability index of ``values`` against a :func:`reference`.

    Bins are merged (neighbours together) until each expects about five of the new points,
    so a run of 38 matches is not judged on ten nearly empty bins.
    """
    clean = values[~np.isnan(values)]
    edges, shares = list(ref["edges"]), list(ref["shares"])
    if not clean.size or not edges:
        return 0.0
    counts = list(np.bincount(np.searchsorted(edges, clean, side="right"),
                              minlength=len(edges) + 1).astype(float))
    while len(shares) > 2 and min(shares) * clean.size < _POINTS_PER_BIN:
        i = int(np.argmin(shares))
        j = i + 1 if i == 0 or (i + 1 < len(shares) and shares[i + 1] < shares[i - 1]) else i - 1
        low, high = min(i, j), max(i, j)
        shares[low:high + 1] = [shares[low] + shares[high]]
        counts[low:high + 1] = [counts[low] + counts[high]]
    expected = np.maximum(np.asarray(shares), _EPSILON)
    actual = np.maximum(np.asarray(counts) / clean.size, _EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def alert_rate_range(expected: float, n: int) -> tuple[float, float]:
    """The 3-sigma binomial range of the share of flagged points among ``n``."""
    margin = 3.0 * math.sqrt(max(expected * (1.0 - expected), 0.0) / max(n, 1))
    return max(0.0, expected - margin), min(1.0, expected + margin)


@dataclass(frozen=True)
class DriftCheck:
    """The drift figures of one entity in one run, and whether they call for retraining."""

    psi: float
    psi_threshold: float
    alert_rate: float
    alert_rate_low: float
    alert_rate_high: float
    points: int

    @property
    def reasons(self) -> list[str]:
        """Why the champion should be retrained (empty when it still fits)."""
        found = []
        if self.psi > self.psi_threshold:
            found.append(f"PSI {self.psi:.2f} > {self.psi_threshold}")
        if not self.alert_rate_low <= self.alert_rate <= self.alert_rate_high:
            found.append(f"alert rate {self.alert_rate:.2f} outside "
                         f"[{self.alert_rate_low:.2f}, {self.alert_rate_high:.2f}]")
        return found

    def to_json(self) -> dict[str, Any]:
        """Figures and reasons as JSON-ready values (state machine output, lineage)."""
        return {**asdict(self), "reasons": self.reasons}


def check(ref: dict[str, Any], expected_rate: float, values: FloatArray, flagged: np.ndarray[Any, Any],
          psi_threshold: float) -> DriftCheck:
    """Compare a run's values and the champion's flags on them with its training."""
    low, high = alert_rate_range(expected_rate, int(values.size))
    rate = float(np.mean(flagged)) if flagged.size else 0.0
    return DriftCheck(round(psi(ref, values), 6), psi_threshold, round(rate, 6), round(low, 6),
                      round(high, 6), int(values.size))
