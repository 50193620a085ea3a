"""NAB's threshold optimisation: the one threshold that maximises a detector's total score.

NAB picks one threshold per detector and profile for the whole corpus, not one per file,
so a detector cannot be tuned to each series. Its optimiser (``Sweeper.calcScoreByThreshold``)
sorts every scored row by anomaly score once and walks down, each distinct score being a
candidate threshold; this does the same walk with cumulative sums instead of a loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from lakeguard_eval.nab.profiles import CostProfile
from lakeguard_eval.nab.sweep import SweptSeries

#: NAB's first candidate, above any [0, 1] anomaly score: nothing is detected.
NO_DETECTION_THRESHOLD = 1.1


@dataclass(frozen=True)
class ThresholdChoice:
    """The best threshold and the total raw score it gives across the series."""

    threshold: float
    score: float


def optimise_threshold(series: Sequence[SweptSeries], profile: CostProfile) -> ThresholdChoice:
    """The threshold with the highest total score over all ``series`` under ``profile``.

    Candidates are "detect nothing" and every distinct anomaly score of a scored row (a
    threshold between two scores detects the same rows as the higher one). Ties go to the
    highest threshold, as in NAB, whose stable sort keeps the first of equal scores.
    """
    scores = np.concatenate([np.empty(0), *(s.anomaly_scores for s in series)])
    rewards = np.concatenate([np.empty(0), *(s.weighted_rewards(profile) for s in series)])
    windows = _corpus_window_ids(series)
    order = np.argsort(-scores, kind="stable")
    scores, rewards, windows = scores[order], rewards[order], windows[order]

    gains = np.where(windows < 0, rewards, 0.0)
    inside = windows >= 0
    if inside.any():
        # A window's worth is its best detection so far, starting from -fnWeight; a row
        # gains only what it adds to that running best.
        rows = pd.DataFrame({"window": windows[inside], "reward": rewards[inside]})
        best = rows.groupby("window")["reward"].cummax().clip(lower=-profile.fn_weight)
        before = best.groupby(rows["window"]).shift(fill_value=-profile.fn_weight)
        gains[inside] = (best - before).to_numpy()

    nothing_detected = -profile.fn_weight * len(np.unique(windows[inside]))
    totals = nothing_detected + np.cumsum(gains)
    last_of_each_score = np.flatnonzero(np.append(scores[1:] != scores[:-1], scores.size > 0))
    thresholds = np.r_[_above(scores), scores[last_of_each_score]]
    candidates = np.r_[nothing_detected, totals[last_of_each_score]]
    best_at = int(np.argmax(candidates))
    return ThresholdChoice(float(thresholds[best_at]), float(candidates[best_at]))


def _corpus_window_ids(series: Sequence[SweptSeries]) -> npt.NDArray[np.int64]:
    """Window ids made unique across series, so windows of different files never merge."""
    offsets = np.cumsum([0, *(s.window_count for s in series)])
    ids = (np.where(s.in_window, s.window_ids + offset, -1)
           for s, offset in zip(series, offsets, strict=False))
    return np.concatenate([np.empty(0, dtype=np.int64), *ids])


def _above(scores: npt.NDArray[np.float64]) -> float:
    """A threshold no row reaches: NAB's 1.1, or just above the top score if that is higher."""
    top = float(scores.max()) if scores.size else -np.inf
    return NO_DETECTION_THRESHOLD if top < NO_DETECTION_THRESHOLD else float(np.nextafter(top, np.inf))
