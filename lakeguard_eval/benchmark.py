"""The project's detectors on the Numenta Anomaly Benchmark (NAB), run causally, beside published results.

Each series of a NAB-layout data folder (``<category>/<file>.csv`` with ``timestamp`` and
``value`` columns) is replayed the way NAB replays it to a streaming detector: the detector
is fitted on NAB's probation (the first 15% of the rows, at most 750, exactly the rows the
scorer ignores) and then scores the remaining rows in order, each using only the rows
before it. NAB wants one ``anomaly_score`` in [0, 1] per row; ours is non-zero only on a
detector's debounced alerts (the first point of each event) and grows with the alert's score
(``1 - 1 / (1 + score)``), so NAB's threshold sweep chooses *which* alerts to keep, never
invents detections between them. The outputs are scored with :mod:`lakeguard_eval.nab`,
one threshold per detector and profile optimised over all the files, as NAB does.

With a published NAB results folder, every published detector found there is scored the
same way on the same files, so the table compares like with like on whatever subset of
the corpus is at hand. Typical use (see ``bench/nab.py``)::

    result = run_benchmark(Path("NAB/data"), Path("NAB/labels/combined_windows.json"),
                           published=Path("NAB/results"), progress=print)
    print(result.table())
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lakeguard.exceptions import BenchmarkError, InsufficientHistory
from lakeguard.ml.detectors import DETECTORS, detector_class
from lakeguard.ml.detectors.base import Detector, Explanation, FloatArray
from lakeguard_eval.nab import (
    CostProfile,
    Evaluation,
    Labels,
    evaluate,
    load_labels,
    load_profiles,
    read_results_folder,
)
from lakeguard_eval.nab.sweep import first_scored_row

#: The parameters each project detector runs with in the benchmark, and nowhere else: the
#: candidate ``lakeguard-eval nab cv`` chose on every category from the detector's grid
#: (:data:`lakeguard_eval.crossval.GRIDS`), the same for every series (NAB forbids per-file
#: tuning). ``range_likelihood``'s defaults are that choice, so it needs no entry. NAB counts
#: every detection outside a window as a false positive, so each detector debounces its
#: alerts: ``cooldown`` is how many quiet points end an event.
NAB_PARAMS: dict[str, dict[str, Any]] = {
    "quantile_band": {"cooldown": 50, "lower_quantile": 0.01, "upper_quantile": 0.99},
    "robust_zscore": {"cooldown": 150, "threshold": 5.0},
    "forecast_likelihood": {"cooldown": 50},
}

#: The columns of a NAB data file.
DATA_COLUMNS = ("timestamp", "value")


@dataclass(frozen=True)
class DetectorResult:
    """One detector's NAB evaluation; ``seconds`` and ``points`` time the project's own runs."""

    name: str
    published: bool
    evaluation: Evaluation
    seconds: float | None = None
    points: int = 0

    @property
    def normalised(self) -> dict[str, float]:
        """NAB's published number per profile: 0 never detects, 100 perfect."""
        return {profile: score.normalised for profile, score in self.evaluation.profiles.items()}


@dataclass(frozen=True)
class BenchmarkResult:
    """Every detector's scores on the same ``files``, the project's first, then published ones.

    ``skipped`` says why a published detector found in the results folder was left out.
    """

    detectors: tuple[DetectorResult, ...]
    files: tuple[str, ...]
    skipped: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"detectors": {name: {profile: normalised score}}, "files": number of series}``."""
        return {"detectors": {d.name: d.normalised for d in self.detectors}, "files": len(self.files)}

    def table(self) -> str:
        """A side-by-side text table: one row per detector (best first), one column per profile."""
        profiles = list(self.detectors[0].normalised) if self.detectors else []
        key = "standard" if "standard" in profiles else (profiles[0] if profiles else "")
        ranked = sorted(self.detectors, key=lambda d: (-d.normalised.get(key, 0.0), d.name))
        rows = [["detector", *profiles]]
        rows += [[f"{d.name} (published)" if d.published else d.name,
                  *(f"{d.normalised[p]:.2f}" for p in profiles)] for d in ranked]
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                           for c, (cell, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        categories = sorted({name.split("/")[0] for name in self.files})
        head = (f"NAB normalised scores on {len(self.files)} file(s) of {', '.join(categories)} "
                "(0 = never detects, 100 = perfect; threshold optimised per detector and profile)")
        notes = [f"skipped published {name}: {why}" for name, why in sorted(self.skipped.items())]
        return "\n".join([head, *lines, *notes])


@dataclass(frozen=True)
class Series:
    """One NAB series: ``<category>/<file>.csv``, its timestamps and values in file order."""

    name: str
    timestamps: pd.DatetimeIndex
    values: FloatArray


def nab_anomaly_scores(explained: Explanation) -> FloatArray:
    """NAB's per-row score: ``1 - 1 / (1 + score)`` on alert points, 0 elsewhere.

    Monotone in the detector's score, in [0, 1), and zero off alerts, so a NAB threshold
    keeps the strongest alerts and each event counts once.
    """
    score = np.nan_to_num(np.asarray(explained.score, dtype=np.float64), nan=0.0, posinf=np.inf)
    strength = 1.0 - 1.0 / (1.0 + np.maximum(score, 0.0))
    return np.where(explained.alert, strength, 0.0)


def run_benchmark(
    data_dir: Path,
    labels: Path,
    detectors: Sequence[str] | None = None,
    published: Path | None = None,
    profiles: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BenchmarkResult:
    """Run the project's ``detectors`` (all by default) causally on every series and score them.

    ``published`` is a NAB results folder (``<detector>/<category>/<detector>_<file>.csv``);
    each detector in it with results for every series of ``data_dir`` is scored too.
    ``profiles`` is a NAB ``profiles.json`` (NAB's three by default).
    """
    say = progress or (lambda line: None)
    windows = load_labels(labels)
    costs = load_profiles(profiles)
    series = read_folder(Path(data_dir))
    for one in series:
        windows.for_series(one.name)  # fail before the long part, naming the series
    names = list(DETECTORS) if detectors is None else list(detectors)
    results = []
    for name in names:
        cls = detector_class(name)
        params = NAB_PARAMS.get(name, {})
        outputs, seconds = {}, 0.0
        for one in series:
            start = time.perf_counter()
            outputs[one.name] = (one.timestamps, detect(cls, name, params, one))
            elapsed = time.perf_counter() - start
            seconds += elapsed
            say(f"{name}: {one.name} ({one.values.size} rows, {elapsed:.2f} s)")
        results.append(DetectorResult(name, False, evaluate(outputs, windows, costs), seconds,
                                      sum(one.values.size for one in series)))
    skipped: dict[str, str] = {}
    if published is not None:
        results += _published(Path(published), series, windows, costs, set(names), skipped, say)
    return BenchmarkResult(tuple(results), tuple(one.name for one in series), skipped)


def detect(cls: type[Detector], name: str, params: Mapping[str, Any], series: Series) -> FloatArray:
    """NAB's per-row anomaly scores of one detector: fit on NAB's probation, score the rest causally.

    Probation rows score 0 (NAB ignores them).
    """
    start = first_scored_row(series.values.size)
    try:
        model = cls.fit(series.values[:start], params)
    except InsufficientHistory as err:
        raise BenchmarkError(f"{series.name}: {name} cannot learn from NAB's probation of {start} "
                             f"rows ({err}); use longer series or lower its min_history in "
                             "NAB_PARAMS") from err
    scores = np.zeros(series.values.size)
    scores[start:] = nab_anomaly_scores(model.score(series.values[start:]))
    return scores


def read_folder(data_dir: Path) -> list[Series]:
    """Every ``<category>/<file>.csv`` series of a NAB data folder, sorted by name."""
    if not data_dir.is_dir():
        raise BenchmarkError(f"no data folder {data_dir}; pass NAB's data folder "
                             "(<category>/<file>.csv files)")
    paths = sorted(data_dir.rglob("*.csv"))
    if not paths:
        raise BenchmarkError(f"{data_dir} holds no <category>/<file>.csv series")
    series = []
    for path in paths:
        relative = path.relative_to(data_dir)
        if len(relative.parts) != 2:
            raise BenchmarkError(f"{path} is not in NAB's layout: series must be "
                                 f"{data_dir}/<category>/<file>.csv, one folder deep")
        series.append(read_series(path, relative.as_posix()))
    return series


def read_series(path: Path, name: str) -> Series:
    """A data file's timestamps and values, refusing anything NAB would not score."""
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise BenchmarkError(f"cannot read the series {path} ({err})") from err
    missing = [column for column in DATA_COLUMNS if column not in frame.columns]
    if missing:
        raise BenchmarkError(f"{path} has no {' or '.join(missing)} column; NAB series have the "
                             f"columns timestamp,value (found: {', '.join(map(str, frame.columns))})")
    if frame.empty:
        raise BenchmarkError(f"{path} has no rows")
    try:
        timestamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], format="ISO8601"))
    except (TypeError, ValueError) as err:
        raise BenchmarkError(f"{path}: the timestamp column cannot be read as dates ({err})") from err
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        raise BenchmarkError(f"{path}: row {int(bad[0]) + 1} has value {frame['value'].iloc[bad[0]]!r}, "
                             "not a number; NAB series have a number on every row")
    return Series(name, timestamps, values)


def _published(
    root: Path,
    series: list[Series],
    windows: Labels,
    costs: Mapping[str, CostProfile],
    taken: set[str],
    skipped: dict[str, str],
    say: Callable[[str], None],
) -> list[DetectorResult]:
    """Score every detector of a NAB results folder on exactly the series we ran."""
    results = []
    for name, outputs in published_outputs(root, series, skipped, say).items():
        label = name if name not in taken else f"{name}_published"
        results.append(DetectorResult(label, True, evaluate(outputs, windows, costs)))
        say(f"{label} (published): scored on {len(outputs)} file(s)")
    return results


def published_outputs(
    root: Path, series: Sequence[Series], skipped: dict[str, str], say: Callable[[str], None],
) -> dict[str, dict[str, tuple[pd.DatetimeIndex, FloatArray]]]:
    """Each published detector's outputs on exactly ``series``, by detector name.

    A detector folder without results for one of the series is left out, with the reason
    in ``skipped``; results with another row count than the data file are an error.
    """
    if not root.is_dir():
        raise BenchmarkError(f"no published results folder {root}; pass NAB's results folder "
                             "(<detector>/<category>/<detector>_<file>.csv)")
    wanted = {one.name: one for one in series}
    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not any(folder.glob(f"*/{folder.name}_*.csv")):
            continue  # e.g. NAB's null and random folders hold only score tables
        outputs = read_results_folder(folder)
        missing = sorted(set(wanted) - set(outputs))
        if missing:
            skipped[folder.name] = (f"no results for {missing[0]}"
                                    + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
            say(f"{folder.name} (published): skipped, {skipped[folder.name]}")
            continue
        subset = {name: outputs[name] for name in sorted(wanted)}
        for name, (stamps, _) in subset.items():
            if len(stamps) != wanted[name].values.size:
                raise BenchmarkError(f"{folder} has {len(stamps)} rows for {name} but the data file has "
                                     f"{wanted[name].values.size}; the results are of another "
                                     "version of the data")
        found[folder.name] = subset
    return found
