"""What a detection on each row of a series would be worth (NAB's ``Sweeper.calcSweepScore``).

A detection's worth depends only on where its row lies: inside a window, how early before
the window's end; outside, how far after the previous window's end. Neither depends on the
threshold, so it is computed once per series and reused for every threshold and profile,
which is what makes sweeping all thresholds cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from lakeguard.exceptions import BenchmarkError
from lakeguard_eval.nab.labels import AnomalyWindow, window_spans
from lakeguard_eval.nab.profiles import CostProfile

#: Share of each series a detector gets to learn before NAB scores it.
PROBATION_PERCENT = 0.15

#: NAB caps probation at ``PROBATION_PERCENT`` of this many rows (750), so long series are
#: not mostly probation.
PROBATION_CAP_ROWS = 5000


def scaled_sigmoid(position: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """NAB's reward curve ``2 * sigmoid(-5 * x) - 1`` of a position relative to a window's end.

    ``x = -1`` is a window's first row (0.987), ``0`` its end (0), and positive ``x`` are
    rows after it, worth ever less down to -1, which NAB uses outright beyond ``x = 3``.
    Written as ``-tanh(2.5 x)``, the same function, so far positions do not overflow ``exp``.
    """
    x = np.asarray(position, dtype=np.float64)
    return np.where(x > 3.0, -1.0, -np.tanh(2.5 * x))


#: Worth of a detection on a window's first row; NAB divides by it so that row earns tpWeight.
MAX_TRUE_POSITIVE = float(scaled_sigmoid(-1.0))


def first_scored_row(length: int, probation_percent: float = PROBATION_PERCENT) -> int:
    """Index of the first row NAB scores; earlier rows are the detector's probation.

    NAB's rule, float arithmetic included: rows ``i >= min(floor(p * n), p * 5000)``.
    """
    bound = min(math.floor(probation_percent * length), probation_percent * PROBATION_CAP_ROWS)
    return math.ceil(bound)


@dataclass(frozen=True)
class SweptSeries:
    """The scored rows of one series (probation dropped), with each row's place and reward.

    ``window_ids`` gives each row's window (``-1`` outside any) and ``rewards`` the unweighted
    worth of a detection there: ``scaled_sigmoid`` of the row's position, already divided by
    :data:`MAX_TRUE_POSITIVE` inside windows. ``window_count`` counts every labelled window,
    including any lying wholly in probation, because NAB's perfect score counts them too.
    """

    name: str
    anomaly_scores: npt.NDArray[np.float64]
    window_ids: npt.NDArray[np.int64]
    rewards: npt.NDArray[np.float64]
    window_count: int

    @property
    def in_window(self) -> npt.NDArray[np.bool_]:
        """Rows inside a window: a detection there is a true positive, a silence a false negative."""
        return self.window_ids >= 0

    @property
    def scored_windows(self) -> npt.NDArray[np.int64]:
        """Windows with at least one scored row; only these can be missed (NAB's rule)."""
        ids: npt.NDArray[np.int64] = np.unique(self.window_ids[self.in_window])
        return ids

    def weighted_rewards(self, profile: CostProfile) -> npt.NDArray[np.float64]:
        """Each row's reward in the profile's currency: tpWeight inside windows, fpWeight out."""
        return np.where(self.in_window, self.rewards * profile.tp_weight,
                        self.rewards * profile.fp_weight)


def sweep_series(
    name: str,
    timestamps: npt.ArrayLike,
    anomaly_scores: npt.ArrayLike,
    windows: tuple[AnomalyWindow, ...],
    probation_percent: float = PROBATION_PERCENT,
) -> SweptSeries:
    """Place every row of a series relative to its windows and keep the rows NAB scores.

    Rows are taken in the order given, as NAB does; timestamps only locate the windows.
    """
    times = _timestamps(timestamps, name)
    scores = np.asarray(anomaly_scores, dtype=np.float64)
    if scores.shape != (len(times),):
        raise BenchmarkError(f"{name}: {len(times)} timestamps but {scores.size} anomaly scores; "
                             "give one score per timestamp")
    spans = window_spans(times, windows, name)
    rows = np.arange(len(times))
    window_ids = np.full(len(times), -1, dtype=np.int64)
    for window_id, (first, last) in enumerate(spans):
        window_ids[first:last + 1] = window_id
    rewards = np.where(window_ids >= 0, _inside_rewards(rows, window_ids, spans),
                       _outside_rewards(rows, spans))
    scored = slice(first_scored_row(len(times), probation_percent), None)
    unscorable = np.flatnonzero(~np.isfinite(scores[scored]))
    if unscorable.size:
        row = int(unscorable[0]) + (scored.start or 0)
        raise BenchmarkError(f"{name}: the anomaly score of row {row} ({times[row]}) is not a "
                             "finite number; only probation rows may lack a score")
    return SweptSeries(name, scores[scored], window_ids[scored], rewards[scored], len(windows))


def _timestamps(timestamps: npt.ArrayLike, name: str) -> pd.DatetimeIndex:
    try:
        times = pd.DatetimeIndex(pd.to_datetime(timestamps))  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise BenchmarkError(f"{name}: timestamps cannot be read as dates ({err})") from err
    if times.hasnans:
        raise BenchmarkError(f"{name}: some timestamps are empty; every row needs one")
    return times.tz_convert(None) if times.tz is not None else times


def _inside_rewards(
    rows: npt.NDArray[np.int64], window_ids: npt.NDArray[np.int64], spans: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """A row ``i`` of window ``[l, r]`` sits at ``-(r - i + 1) / (r - l + 1)``, as in NAB."""
    if not len(spans):
        return np.zeros(len(rows))
    ids = np.maximum(window_ids, 0)
    first, last = spans[ids, 0], spans[ids, 1]
    return scaled_sigmoid(-(last - rows + 1) / (last - first + 1)) / MAX_TRUE_POSITIVE


def _outside_rewards(
    rows: npt.NDArray[np.int64], spans: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """A row after window ``[l, r]`` sits at ``(i - r) / (r - l)``; before any, it is worth -1.

    NAB divides by zero after a one-row window; such rows are scored as far from it.
    """
    if not len(spans):
        return np.full(len(rows), -1.0)
    previous = np.searchsorted(spans[:, 1], rows, side="left") - 1
    first, last = spans[np.maximum(previous, 0), 0], spans[np.maximum(previous, 0), 1]
    span = (last - first).astype(np.float64)
    position = np.divide(np.abs(rows - last), span, out=np.full(len(rows), np.inf), where=span > 0)
    return np.where(previous >= 0, scaled_sigmoid(position), -1.0)
