"""Evaluating a detector the NAB way: one threshold per profile, raw and normalised scores.

:func:`evaluate` takes any detector's output in memory, so the project's own detectors are
scored exactly like the published ones; :func:`score_results` reads a published NAB
results folder and hands it to :func:`evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy.typing as npt

from lakeguard.exceptions import BenchmarkError
from lakeguard_eval.nab.labels import Labels, load_labels
from lakeguard_eval.nab.model import Evaluation, ProfileScore
from lakeguard_eval.nab.normalise import normalised_score
from lakeguard_eval.nab.profiles import CostProfile, load_profiles
from lakeguard_eval.nab.results_folder import read_results_folder
from lakeguard_eval.nab.scorer import score_swept
from lakeguard_eval.nab.sweep import PROBATION_PERCENT, sweep_series
from lakeguard_eval.nab.threshold import optimise_threshold


def evaluate(
    outputs: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    labels: Labels,
    profiles: Mapping[str, CostProfile] | None = None,
    threshold: float | None = None,
    *,
    probation_percent: float = PROBATION_PERCENT,
) -> Evaluation:
    """NAB scores of a detector's ``outputs``: ``{"<category>/<file>.csv": (timestamps, scores)}``.

    Without ``threshold`` each profile gets the threshold that maximises its total score
    over all the outputs, as NAB's optimiser does; with one, every profile is scored at it
    (a published NAB threshold, say). ``profiles`` defaults to NAB's three.
    """
    if not outputs:
        raise BenchmarkError("nothing to evaluate: the detector output holds no series")
    profiles = load_profiles() if profiles is None else profiles
    swept = [sweep_series(name, timestamps, scores, labels.for_series(name), probation_percent)
             for name, (timestamps, scores) in sorted(outputs.items())]
    results = {}
    for name, profile in profiles.items():
        chosen = optimise_threshold(swept, profile).threshold if threshold is None else threshold
        files = {series.name: score_swept(series, chosen, profile) for series in swept}
        raw = sum(score.score for score in files.values())
        null = sum(score_swept(series, math.inf, profile).score for series in swept)
        perfect = profile.tp_weight * sum(series.window_count for series in swept)
        results[name] = ProfileScore(name, chosen, raw, null, perfect,
                                     normalised_score(raw, null, perfect), files)
    return Evaluation(results)


def score_results(
    results_dir: str | Path,
    labels_path: str | Path,
    threshold: float | None = None,
    profiles: str | Path | Mapping[str, CostProfile] | None = None,
) -> Evaluation:
    """NAB scores of one detector's results folder (``NAB/results/<detector>``).

    ``profiles`` is a profiles file or loaded profiles; NAB's bundled three by default.
    """
    outputs = read_results_folder(results_dir)
    labels = load_labels(labels_path)
    if profiles is None or isinstance(profiles, str | Path):
        profiles = load_profiles(profiles)
    return evaluate(outputs, labels, profiles, threshold)
