"""The detectors a dataset contract can name, behind one interface (see ``base``).

``fit`` and ``load`` are what the pipeline and the registry call; they look a detector up
by the name stored in the contract or the model version, so adding a detector means
adding a module and one entry in ``DETECTORS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakeguard.exceptions import ModelError
from lakeguard.ml.detectors.base import Detector, Explanation, FloatArray
from lakeguard.ml.detectors.forecast_likelihood import ForecastLikelihood
from lakeguard.ml.detectors.quantile_band import QuantileBand
from lakeguard.ml.detectors.range_likelihood import RangeLikelihood
from lakeguard.ml.detectors.robust_zscore import RobustZScore

DETECTORS: dict[str, type[Detector]] = {
    QuantileBand.name: QuantileBand,
    RobustZScore.name: RobustZScore,
    ForecastLikelihood.name: ForecastLikelihood,
    RangeLikelihood.name: RangeLikelihood,
}

__all__ = ["DETECTORS", "Detector", "Explanation", "detector_class", "fit", "load"]


def detector_class(name: str) -> type[Detector]:
    """The detector called ``name``, or a ModelError listing the ones that exist."""
    try:
        return DETECTORS[name]
    except KeyError:
        raise ModelError(f"no detector {name!r}; choose one of {', '.join(sorted(DETECTORS))} "
                         "(fix the contract's model.detector)") from None


def fit(name: str, history: FloatArray, params: Mapping[str, Any]) -> Detector:
    """Fit the named detector on a history."""
    return detector_class(name).fit(history, params)


def load(name: str, doc: Mapping[str, Any]) -> Detector:
    """Rebuild a fitted detector from its stored JSON document."""
    return detector_class(name).from_json(doc)
