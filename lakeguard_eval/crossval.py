"""``lakeguard-eval nab cv``: leave-one-category-out cross-validation of the detectors on NAB.

Every candidate of each detector's declared grid (:data:`GRIDS`) runs causally on every
series, as :mod:`lakeguard_eval.benchmark` runs it (fit on NAB's probation, score the rest);
:func:`lakeguard_eval.nab.folds.out_of_fold` then holds out each category in turn, chooses
parameters and thresholds on the others and scores it. Published detectors found in a NAB
results folder are scored on the same folds, their threshold chosen on the training folds
too, so the comparison is like for like. The candidate chosen on every category is the
detector's recommended setting: this is how ``range_likelihood``'s defaults were set.

Candidates run in worker processes (one per core by default, at most 2: the machines this
runs on are shared); each reports on ``progress`` as it finishes. Typical use::

    result = cross_validate(Path("NAB/data"), Path("NAB/labels/combined_windows.json"),
                            published=Path("NAB/results"), progress=print)
    print(result.table())
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lakeguard.exceptions import BenchmarkError
from lakeguard.ml.detectors import DETECTORS, detector_class
from lakeguard.ml.detectors.base import FloatArray
from lakeguard.parallel import default_workers
from lakeguard_eval.benchmark import Series, detect, published_outputs, read_folder
from lakeguard_eval.nab import CostProfile, load_labels, load_profiles
from lakeguard_eval.nab.folds import SELECT_PROFILE, OutOfFold, out_of_fold
from lakeguard_eval.nab.sweep import SweptSeries, first_scored_row, sweep_series

#: The parameters tried for each detector, every combination in every fold; the first value
#: of each is the plainest (ties go to the first candidate). Small on purpose: a wide grid
#: chosen on 4 categories fits them and says less about the fifth. ``cooldown`` is how many
#: points after an alert stay silent (NAB charges each extra alert as a false positive).
GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "range_likelihood": {"cooldown": (20, 10, 40), "miss_gap": (150, 50),
                         "min_gain": (0.05, 0.2), "tail_probability": (1e-3, 1e-4),
                         "range_tolerance": (0.05, 0.0)},
    "forecast_likelihood": {"cooldown": (150, 50), "tail_probability": (1e-3, 1e-4)},
    "robust_zscore": {"cooldown": (50, 150), "threshold": (3.5, 5.0)},
    "quantile_band": {"cooldown": (50, 150), "lower_quantile": (0.05, 0.01),
                      "upper_quantile": (0.95, 0.99)},
}

#: Worker processes by default: the cores there are, at most this many.
MAX_WORKERS = 2


def candidates(name: str, grids: Mapping[str, Mapping[str, Sequence[Any]]] = GRIDS) -> list[dict[str, Any]]:
    """Every parameter set of ``name``'s grid, in declared order (just the defaults without one)."""
    grid = grids.get(name, {})
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def label(params: Mapping[str, Any]) -> str:
    """A candidate's name: its parameters as compact, key-sorted JSON."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class DetectorCV:
    """One detector's cross-validation; ``seconds`` times one run of its chosen candidate.

    ``seconds`` and ``points`` are ``None``/0 for published detectors, whose outputs are read.
    """

    name: str
    published: bool
    result: OutOfFold
    candidates: int
    seconds: float | None = None
    points: int = 0

    @property
    def chosen_params(self) -> dict[str, Any] | None:
        """The parameters chosen on every category (``None`` for a published detector)."""
        return None if self.published else dict(json.loads(self.result.chosen))

    def to_json(self) -> dict[str, Any]:
        """Scores, choices per fold and timing, JSON-ready."""
        return {
            "published": self.published,
            "out_of_fold": dict(self.result.normalised),
            "in_sample": dict(self.result.in_sample),
            "chosen_params": self.chosen_params,
            "candidates": self.candidates,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "points": self.points,
            "folds": [{"held_out": f.held_out, "files": f.files, "windows": f.windows,
                       "params": None if self.published else json.loads(f.candidate),
                       "thresholds": dict(f.thresholds), "raw": dict(f.raw)}
                      for f in self.result.folds],
        }


@dataclass(frozen=True)
class CrossValidation:
    """Every detector's out-of-fold scores on the same ``files`` and folds."""

    detectors: tuple[DetectorCV, ...]
    files: tuple[str, ...]
    categories: tuple[str, ...]
    skipped: Mapping[str, str] = field(default_factory=dict)

    def ranked(self) -> list[DetectorCV]:
        """Best out-of-fold score on the selection profile first."""
        return sorted(self.detectors, key=lambda d: (-d.result.normalised.get(SELECT_PROFILE, 0.0),
                                                     d.name))

    def to_json(self) -> dict[str, Any]:
        """``{"files", "categories", "selection_profile", "detectors": {name: ...}}``."""
        return {"files": len(self.files), "categories": list(self.categories),
                "selection_profile": SELECT_PROFILE,
                "detectors": {d.name: d.to_json() for d in self.ranked()},
                "skipped": dict(self.skipped)}

    def table(self) -> str:
        """Out-of-fold scores per profile (best first), the in-sample figure, then each fold's choice."""
        ranked = self.ranked()
        profiles = list(ranked[0].result.normalised) if ranked else []
        rows = [["detector (out-of-fold)", *profiles, f"{SELECT_PROFILE} in-sample"]]
        rows += [[f"{d.name} (published)" if d.published else d.name,
                  *(f"{d.result.normalised[p]:.2f}" for p in profiles),
                  f"{d.result.in_sample.get(SELECT_PROFILE, math.nan):.2f}"] for d in ranked]
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                           for c, (cell, w) in enumerate(zip(row, widths, strict=True)))
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        head = (f"NAB leave-one-category-out scores on {len(self.files)} file(s) of "
                f"{len(self.categories)} categories: each category scored with the parameters and "
                "thresholds chosen on the others (0 = never detects, 100 = perfect)")
        folds = ["", f"Chosen without each held-out category (on the {SELECT_PROFILE} profile):"]
        for d in ranked:
            for f in d.result.folds:
                what = "threshold" if d.published else f"{_short(f.candidate)}, threshold"
                folds.append(f"  {d.name:<22} {f.held_out:<24} {what} "
                             f"{f.thresholds.get(SELECT_PROFILE, math.nan):.4g}, held-out raw "
                             f"{f.raw.get(SELECT_PROFILE, math.nan):+.2f} ({f.windows} windows)")
        chosen = [f"  {d.name}: {_short(d.result.chosen)}" for d in ranked if not d.published]
        notes = [f"skipped published {n}: {why}" for n, why in sorted(self.skipped.items())]
        return "\n".join([head, *lines, *folds, "", "Chosen on every category (the setting to ship):",
                          *chosen, *notes])


def _short(candidate: str) -> str:
    """A candidate's parameters as ``k=v`` joined by spaces."""
    return " ".join(f"{k}={v}" for k, v in json.loads(candidate).items()) or "defaults"


def cross_validate(
    data_dir: Path,
    labels: Path,
    detectors: Sequence[str] | None = None,
    published: Path | None = None,
    profiles: Path | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    grids: Mapping[str, Mapping[str, Sequence[Any]]] = GRIDS,
) -> CrossValidation:
    """Cross-validate the project's ``detectors`` (all by default) and any published ones.

    ``published`` is a NAB results folder; ``profiles`` a NAB ``profiles.json`` (NAB's
    three by default); ``workers`` the processes running candidates (``MAX_WORKERS`` at most
    by default; 1 runs them here); ``grids`` the parameters to try (:data:`GRIDS`).
    """
    say = progress or (lambda line: None)
    windows, costs = load_labels(labels), load_profiles(profiles)
    series = read_folder(Path(data_dir))
    bases = [sweep_series(one.name, one.timestamps, np.zeros(one.values.size),
                          windows.for_series(one.name)) for one in series]
    names = list(DETECTORS) if detectors is None else list(detectors)
    for name in names:
        detector_class(name)  # fail before the long part, naming the detector
    results = [_ours(name, candidates(name, grids), series, bases, costs, say, workers)
               for name in names]
    skipped: dict[str, str] = {}
    if published is not None:
        for name, outputs in published_outputs(Path(published), series, skipped, say).items():
            swept = [_rescored(base, outputs[one.name][1]) for one, base in zip(series, bases,
                                                                               strict=True)]
            results.append(DetectorCV(name if name not in names else f"{name}_published", True,
                                      out_of_fold({name: swept}, costs), 1))
            say(f"{name} (published): cross-validated on {len(series)} file(s)")
    categories = tuple(sorted({one.name.split("/")[0] for one in series}))
    return CrossValidation(tuple(results), tuple(one.name for one in series), categories, skipped)


def _ours(name: str, grid: list[dict[str, Any]], series: list[Series], bases: list[SweptSeries],
          costs: Mapping[str, CostProfile], say: Callable[[str], None],
          workers: int | None) -> DetectorCV:
    """Run every candidate of one detector on every series, then cross-validate them."""
    swept: dict[str, list[SweptSeries]] = {}
    seconds: dict[str, float] = {}
    for done, (params, outputs, elapsed) in enumerate(_run_all(name, grid, series, workers), 1):
        key = label(params)
        swept[key] = [_rescored(base, scores) for base, scores in zip(bases, outputs, strict=True)]
        seconds[key] = elapsed
        say(f"{name} [{done}/{len(grid)}] {_short(key)}: {len(series)} series in {elapsed:.2f} s")
    ordered = {label(params): swept[label(params)] for params in grid}
    result = out_of_fold(ordered, costs)
    for fold in result.folds:
        say(f"{name}: held out {fold.held_out}, chose {_short(fold.candidate)}")
    return DetectorCV(name, False, result, len(grid), seconds[result.chosen],
                      sum(one.values.size for one in series))


def _run_all(name: str, grid: list[dict[str, Any]], series: list[Series],
             workers: int | None) -> Iterator[tuple[dict[str, Any], list[FloatArray], float]]:
    """Yield ``(params, outputs, seconds)`` per candidate as each finishes."""
    count = min(MAX_WORKERS, default_workers()) if workers is None else workers
    if count <= 1 or len(grid) == 1:
        for params in grid:
            outputs, seconds = _run_candidate(name, params, series)
            yield params, outputs, seconds
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        futures = {pool.submit(_run_candidate, name, params, series): params for params in grid}
        for future in as_completed(futures):
            outputs, seconds = future.result()
            yield futures[future], outputs, seconds


def _run_candidate(name: str, params: dict[str, Any],
                   series: list[Series]) -> tuple[list[FloatArray], float]:
    """One candidate on every series, and the seconds it took (one process)."""
    cls = detector_class(name)
    start = time.perf_counter()
    outputs = [detect(cls, name, params, one) for one in series]
    return outputs, time.perf_counter() - start


def _rescored(base: SweptSeries, scores: FloatArray) -> SweptSeries:
    """A swept series with another detector's scores: windows and rewards do not change."""
    scored = np.asarray(scores, dtype=np.float64)[first_scored_row(scores.size):]
    if scored.shape != base.anomaly_scores.shape:
        raise BenchmarkError(f"{base.name}: {scores.size} scores for a series of another length")
    if not np.isfinite(scored).all():
        raise BenchmarkError(f"{base.name}: a scored row's anomaly score is not a finite number")
    return replace(base, anomaly_scores=scored)


__all__ = ["GRIDS", "CrossValidation", "DetectorCV", "candidates", "cross_validate", "label"]
