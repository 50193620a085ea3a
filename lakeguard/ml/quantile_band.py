"""The first detector: a per-entity band between two quantiles of the value's history.

With the default 5th-95th percentile band about 90% of past points fall inside, so a
point outside it is rare for that entity; business users read it as "outside the range
this team usually plays in". Parameters and state are plain JSON (no pickle).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lakeguard.exceptions import ModelError

#: Half-width used when the band collapses to a point, so scores stay finite.
_MIN_HALF_WIDTH = 0.5


@dataclass(frozen=True)
class QuantileBand:
    """A fitted band: points outside ``[lower, upper]`` are anomalies."""

    lower: float
    upper: float
    median: float
    n: int
    lower_quantile: float
    upper_quantile: float

    @classmethod
    def fit(
        cls, values: np.ndarray[Any, Any], lower_quantile: float = 0.05,
        upper_quantile: float = 0.95, min_history: int = 1,
    ) -> QuantileBand:
        """Fit the band on a history of values."""
        if not 0.0 <= lower_quantile < upper_quantile <= 1.0:
            raise ModelError(
                f"quantile_band needs 0 <= lower_quantile < upper_quantile <= 1; got "
                f"{lower_quantile} and {upper_quantile} (fix the contract's model.params)"
            )
        clean = values[~np.isnan(values)]
        if clean.size < max(min_history, 1):
            raise ModelError(
                f"quantile_band needs at least {max(min_history, 1)} points of history, "
                f"got {clean.size}"
            )
        low, high, mid = np.quantile(clean, [lower_quantile, upper_quantile, 0.5])
        return cls(float(low), float(high), float(mid), int(clean.size),
                   lower_quantile, upper_quantile)

    def score(self, values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Return (score, is_anomaly) per value.

        The score is the distance from the band's centre in half-widths: 1.0 sits on the
        band's edge, 2.0 is twice as far out. A point is anomalous when it lies outside.
        """
        centre = (self.lower + self.upper) / 2.0
        half_width = max((self.upper - self.lower) / 2.0, _MIN_HALF_WIDTH)
        scores = np.abs(values - centre) / half_width
        return scores, (values < self.lower) | (values > self.upper)

    def to_json(self) -> dict[str, Any]:
        """Parameters and state as JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuantileBand:
        """Rebuild a fitted band from :meth:`to_json` output."""
        try:
            return cls(**data)
        except TypeError as err:
            raise ModelError(f"not a quantile_band state: {sorted(data)}") from err
