"""The quantile band: points outside two quantiles of the entity's whole history.

With the default 5th-95th percentile band about 90% of past points fall inside, so a
point outside it is rare for that entity; business users read it as "outside the range
this team usually plays in". The band is fixed at fit time: it is the simplest model
to explain and the baseline the other detectors must beat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lakeguard.exceptions import ModelError
from lakeguard.ml.detectors.base import Explanation, FloatArray, Params, finite

#: Half-width used when the band collapses to a point, so scores stay finite.
_MIN_HALF_WIDTH = 0.5

_DEFAULTS = {"lower_quantile": 0.05, "upper_quantile": 0.95, "min_history": 1, "cooldown": 0}


@dataclass(frozen=True)
class QuantileBand:
    """A fitted band: points outside ``[lower, upper]`` are anomalies."""

    name: ClassVar[str] = "quantile_band"

    params: dict[str, Any]
    lower: float
    upper: float
    median: float
    n: int

    @classmethod
    def fit(cls, history: FloatArray, params: Mapping[str, Any]) -> QuantileBand:
        """Fit the band on the history's quantiles."""
        p = Params(cls.name, params, _DEFAULTS)
        low_q, high_q = p.number("lower_quantile", 0.0, 1.0), p.number("upper_quantile", 0.0, 1.0)
        if low_q >= high_q:
            raise ModelError(f"quantile_band needs lower_quantile < upper_quantile; got {low_q} "
                             f"and {high_q} (fix the contract's model.params)")
        p.integer("cooldown", 0)
        clean = finite(history, cls.name, p.integer("min_history", 1))
        low, high, mid = np.quantile(clean, [low_q, high_q, 0.5])
        return cls(p.values, float(low), float(high), float(mid), int(clean.size))

    def score(self, values: FloatArray) -> Explanation:
        """Distance from the band's centre in half-widths; outside the band is anomalous."""
        centre = (self.lower + self.upper) / 2.0
        half_width = max((self.upper - self.lower) / 2.0, _MIN_HALF_WIDTH)
        n = values.size
        return Explanation.build(self.name, values, np.full(n, self.lower),
                                 np.full(n, self.upper), np.abs(values - centre) / half_width,
                                 int(self.params["cooldown"]))

    def to_json(self) -> dict[str, Any]:
        """Parameters and the fitted band."""
        return {"params": self.params,
                "state": {"lower": self.lower, "upper": self.upper, "median": self.median,
                          "n": self.n}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> QuantileBand:
        """Rebuild a fitted band from :meth:`to_json` output."""
        try:
            state = doc["state"]
            return cls(dict(doc["params"]), float(state["lower"]), float(state["upper"]),
                       float(state["median"]), int(state["n"]))
        except (KeyError, TypeError) as err:
            raise ModelError(f"not a quantile_band model document: {err}") from err
