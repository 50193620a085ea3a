"""NAB's score of one series at a fixed threshold (``Sweeper.scoreDataSet``).

A row is a detection when its anomaly score is at least the threshold. Each window is worth
its earliest detection's reward (up to tpWeight), or -fnWeight when it has none; each
detection outside windows adds its (negative) reward weighted by fpWeight.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lakeguard_eval.nab.labels import AnomalyWindow
from lakeguard_eval.nab.model import FileScore
from lakeguard_eval.nab.profiles import CostProfile
from lakeguard_eval.nab.sweep import PROBATION_PERCENT, SweptSeries, sweep_series


def score_swept(series: SweptSeries, threshold: float, profile: CostProfile) -> FileScore:
    """Score a series already placed against its windows; see :func:`score_file`."""
    detected = series.anomaly_scores >= threshold
    in_window = series.in_window
    rewards = series.weighted_rewards(profile)
    hits = detected & in_window
    false_alarms = detected & ~in_window
    # Each window starts at -fnWeight and keeps its best detection, as NAB's sweep does.
    window_scores = np.full(series.window_count, -profile.fn_weight)
    np.maximum.at(window_scores, series.window_ids[hits], rewards[hits])
    score = float(rewards[false_alarms].sum() + window_scores[series.scored_windows].sum())
    tp, fp = int(hits.sum()), int(false_alarms.sum())
    return FileScore(score=score, tp=tp, tn=int((~in_window).sum()) - fp, fp=fp,
                     fn=int(in_window.sum()) - tp)


def score_file(
    timestamps: npt.ArrayLike,
    anomaly_scores: npt.ArrayLike,
    windows: tuple[AnomalyWindow, ...],
    threshold: float,
    profile: CostProfile,
    *,
    probation_percent: float = PROBATION_PERCENT,
    name: str = "series",
) -> FileScore:
    """NAB's raw score and row counts of one series at ``threshold`` under ``profile``.

    ``name`` only labels error messages. Detections in the first ``probation_percent`` of
    the series (at most 750 rows) are ignored, as NAB gives every detector time to learn.
    """
    swept = sweep_series(name, timestamps, anomaly_scores, windows, probation_percent)
    return score_swept(swept, threshold, profile)
