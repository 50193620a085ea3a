"""Champion or challenger: a retrained model replaces the champion only if it is better.

Better means a lower interval score on the most recent points, held out of the
challenger's training. The first model of an entity is champion by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lakeguard.ml import detectors, registry
from lakeguard.ml.detectors.base import FloatArray
from lakeguard.ml.store import S3Store


def interval_score(model: detectors.Detector, holdout: FloatArray, alpha: float) -> float:
    """Mean interval score of the model's expected ranges on held-out points (lower wins).

    The interval score (Gneiting & Raftery, 2007) of a range meant to hold ``1 - alpha``
    of the points is its width plus ``2 / alpha`` times how far a point falls outside it:
    it rewards ranges that are narrow and still right, which is what makes flags rare
    and meaningful. A range always as wide as the data never flags and scores badly.
    """
    if not holdout.size:
        return 0.0
    explained = model.score(holdout)
    lower, upper, value = explained.lower, explained.upper, explained.value
    penalty = (2.0 / alpha) * (np.maximum(lower - value, 0.0) + np.maximum(value - upper, 0.0))
    return round(float(np.mean((upper - lower) + penalty)), 6)


def evaluation(challenger: detectors.Detector, champion: registry.ModelVersion,
               holdout: FloatArray, alpha: float) -> dict[str, Any]:
    """Both models' interval scores on the held-out points, as the lineage records them."""
    incumbent = detectors.load(champion.detector, champion.model)
    return {"holdout_rows": int(holdout.size), "metric": "interval_score", "alpha": alpha,
            "challenger": interval_score(challenger, holdout, alpha),
            "champion": interval_score(incumbent, holdout, alpha)}


def decide(store: S3Store, dataset: str, entity: str, version: str,
           judged: dict[str, Any] | None, known: registry.Marks | None = None) -> str:
    """Give a new version its alias: champion if first or better on held-out data.

    ``known``: the entity's aliases as read before training (see ``registry.set_alias``).
    """
    if judged is None:
        registry.promote(store, dataset, entity, version, "first model of this entity", known)
        return registry.CHAMPION
    challenger, champion = judged["challenger"], judged["champion"]
    if challenger < champion:
        registry.promote(store, dataset, entity, version,
                         f"won on held-out data: interval score {challenger} < {champion}", known)
        return registry.CHAMPION
    known = known if known is not None else registry.marks(store, dataset, entity)
    if known[0].get(registry.CHAMPION) != version:
        registry.set_alias(store, dataset, entity, registry.CHALLENGER, version,
                           f"lost on held-out data: interval score {challenger} >= {champion}",
                           known)
    return registry.CHALLENGER
