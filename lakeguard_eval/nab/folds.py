"""Leave-one-category-out scoring: what a detector earns on a category it was never tuned on.

NAB picks each detector's threshold on the very files it then scores, and a detector's
author picks its parameters the same way, so the published figures are in-sample. Here
each NAB category in turn is held out: the candidate (one parameter set of a declared grid)
and each profile's threshold are chosen on the other categories only, and the held-out
category is scored with them. The held-out raw scores of all folds, summed and normalised
over the whole corpus between the null and the perfect detector, give the out-of-fold score
on NAB's usual 0-100 scale. Categories, not files, are held out because files of one
category share a source and a kind of anomaly: holding out one file would leave its
siblings in the training folds and flatter the score.

The candidate is chosen once per fold, on the ``select`` profile (``standard``), and the
thresholds per profile with it: a detector is configured once and read at three operating
points, as NAB does. Published detectors are scored the same way, as a single candidate
whose threshold is chosen on the training folds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lakeguard.exceptions import BenchmarkError
from lakeguard_eval.nab.normalise import normalised_score
from lakeguard_eval.nab.profiles import CostProfile
from lakeguard_eval.nab.scorer import score_swept
from lakeguard_eval.nab.sweep import SweptSeries
from lakeguard_eval.nab.threshold import optimise_threshold

#: The profile that chooses a fold's candidate.
SELECT_PROFILE = "standard"


@dataclass(frozen=True)
class FoldResult:
    """One held-out category: what was chosen without it and what that earned on it."""

    held_out: str
    candidate: str
    thresholds: Mapping[str, float]
    raw: Mapping[str, float]
    files: int
    windows: int


@dataclass(frozen=True)
class OutOfFold:
    """A detector's leave-one-category-out result.

    ``normalised`` is the out-of-fold score per profile; ``in_sample`` the score when the
    candidate and thresholds are chosen on every category, the held-out ones included
    (how NAB reports), and ``chosen`` that candidate: the parameters to ship.
    """

    folds: tuple[FoldResult, ...]
    normalised: Mapping[str, float]
    in_sample: Mapping[str, float]
    chosen: str


def category(series: str) -> str:
    """The category of ``<category>/<file>.csv``."""
    return series.split("/", 1)[0]


def out_of_fold(
    candidates: Mapping[str, Sequence[SweptSeries]],
    profiles: Mapping[str, CostProfile],
    select: str = SELECT_PROFILE,
) -> OutOfFold:
    """Hold out each category in turn; choose candidate and thresholds on the rest; score it.

    ``candidates`` maps a label to the same series (same names, same order) scored by one
    parameter set; ties between candidates go to the first, so declare a grid's plainest
    setting first.
    """
    names = _names(candidates)
    if select not in profiles:
        raise BenchmarkError(f"the profiles ({', '.join(profiles)}) have no {select!r} profile, "
                             "which chooses each fold's parameters; add it to the profiles file")
    categories = sorted({category(name) for name in names})
    if len(categories) < 2:
        raise BenchmarkError(f"leave-one-category-out needs series of two categories or more, got "
                             f"only {categories[0]!r}; pass a NAB data folder with several "
                             "<category>/ folders")
    folds = []
    for held in categories:
        train = [i for i, name in enumerate(names) if category(name) != held]
        test = [i for i, name in enumerate(names) if category(name) == held]
        label = _best(candidates, train, profiles[select])
        chosen = candidates[label]
        thresholds = {p: optimise_threshold([chosen[i] for i in train], profile).threshold
                      for p, profile in profiles.items()}
        raw = {p: sum(score_swept(chosen[i], thresholds[p], profile).score for i in test)
               for p, profile in profiles.items()}
        folds.append(FoldResult(held, label, thresholds, raw, len(test),
                                sum(chosen[i].window_count for i in test)))
    every = list(range(len(names)))
    label = _best(candidates, every, profiles[select])
    series = candidates[label]
    normalised, in_sample = {}, {}
    for p, profile in profiles.items():
        null = sum(score_swept(one, math.inf, profile).score for one in series)
        perfect = profile.tp_weight * sum(one.window_count for one in series)
        normalised[p] = normalised_score(sum(fold.raw[p] for fold in folds), null, perfect)
        in_sample[p] = normalised_score(optimise_threshold(series, profile).score, null, perfect)
    return OutOfFold(tuple(folds), normalised, in_sample, label)


def _names(candidates: Mapping[str, Sequence[SweptSeries]]) -> list[str]:
    """The series every candidate scored, refusing candidates that scored different ones."""
    if not candidates:
        raise BenchmarkError("nothing to cross-validate: no candidate outputs")
    lists = {label: [one.name for one in series] for label, series in candidates.items()}
    first, names = next(iter(lists.items()))
    for label, other in lists.items():
        if other != names:
            raise BenchmarkError(f"candidate {label!r} scored other series than {first!r}; every "
                                 "candidate must score the same series in the same order")
    return names


def _best(candidates: Mapping[str, Sequence[SweptSeries]], rows: list[int],
          profile: CostProfile) -> str:
    """The candidate with the best total score on ``rows`` at its own best threshold."""
    best_label, best_score = "", -math.inf
    for label, series in candidates.items():
        score = optimise_threshold([series[i] for i in rows], profile).score
        if score > best_score:
            best_label, best_score = label, score
    return best_label
