"""NAB's ground truth: the anomaly windows of each series, as in ``labels/combined_windows.json``.

NAB does not label anomalous points but windows around them (10 % of the series split
between its anomalies), because an early warning is the point of streaming detection: a
detection anywhere in the window counts, the earlier the better. The file maps
``<category>/<file>.csv`` to a list of ``[start, end]`` timestamp pairs, both ends included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lakeguard.exceptions import BenchmarkError


@dataclass(frozen=True)
class AnomalyWindow:
    """One labelled anomaly: every point from ``start`` to ``end`` (both included) lies in it."""

    start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True)
class Labels:
    """The windows of every labelled series, keyed ``<category>/<file>.csv`` like NAB's data.

    ``source`` names where the windows came from, so that an error can say which file to fix.
    """

    windows: Mapping[str, tuple[AnomalyWindow, ...]]
    source: str = "the labels"

    def for_series(self, series: str) -> tuple[AnomalyWindow, ...]:
        """The windows of one series; a series without an entry is an error, not "no anomaly".

        NAB lists every series, with ``[]`` when it has no anomaly, so a missing key means a
        misnamed file or the labels of another corpus, which would silently score as a miss.
        """
        try:
            return self.windows[series]
        except KeyError:
            raise BenchmarkError(
                f"{self.source} has no entry for {series!r}; every scored series needs one "
                "(an empty list when it has no anomaly). Check that the series is named "
                "<category>/<file>.csv as in NAB's data folder, or pass the labels of its corpus"
            ) from None


def load_labels(path: str | Path) -> Labels:
    """Read a ``combined_windows.json``-format file into :class:`Labels`."""
    source = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise BenchmarkError(f"cannot read the labels file {source}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise BenchmarkError(f"the labels file {source} is not valid JSON ({err})") from err
    if not isinstance(document, dict):
        raise BenchmarkError(f"the labels file {source} must be a JSON object mapping "
                             '"<category>/<file>.csv" to [[start, end], ...]')
    windows = {series: _windows(series, pairs, source) for series, pairs in document.items()}
    return Labels(windows, source)


def _windows(series: str, pairs: Any, source: str) -> tuple[AnomalyWindow, ...]:
    if not isinstance(pairs, list):
        raise BenchmarkError(f"{source}: {series!r} must map to a list of [start, end] pairs")
    windows = []
    for position, pair in enumerate(pairs):
        where = f"{source}: window {position} of {series!r}"
        if not (isinstance(pair, list) and len(pair) == 2):
            raise BenchmarkError(f"{where} must be a [start, end] pair, got {pair!r}")
        try:
            start, end = pd.Timestamp(pair[0]), pd.Timestamp(pair[1])
        except (TypeError, ValueError) as err:
            raise BenchmarkError(f"{where} has a timestamp that cannot be parsed ({err}); "
                                 'use "YYYY-MM-DD HH:MM:SS.ffffff"') from err
        if pd.isna(start) or pd.isna(end):
            raise BenchmarkError(f"{where} has an empty timestamp; give both ends of the window")
        if end < start:
            raise BenchmarkError(f"{where} ends ({end}) before it starts ({start})")
        windows.append(AnomalyWindow(start, end))
    return tuple(sorted(windows, key=lambda window: window.start))


def window_spans(
    timestamps: pd.DatetimeIndex, windows: tuple[AnomalyWindow, ...], series: str
) -> npt.NDArray[np.int64]:
    """First and last row of each window in a series, one ``[first, last]`` row per window.

    NAB scores by row position, not elapsed time, and finds a window's rows by the first
    rows whose timestamps equal its ends, so both ends must be timestamps of the series
    (NAB refuses labels that are not). Rows need not be sorted: some NAB files repeat an
    hour at a clock change, and NAB simply scores rows in file order.
    """
    values = timestamps.to_numpy(dtype="datetime64[ns]")
    spans = np.empty((len(windows), 2), dtype=np.int64)
    for position, window in enumerate(windows):
        for side, stamp in enumerate((window.start, window.end)):
            matches = np.flatnonzero(values == np.datetime64(stamp, "ns"))
            if not matches.size:
                raise BenchmarkError(
                    f"window {position} of {series!r} ({window.start} to {window.end}) "
                    f"{'starts' if side == 0 else 'ends'} at {stamp}, which is no timestamp of the "
                    "series; NAB needs window ends to be exact timestamps of the data"
                )
            spans[position, side] = matches[0]
        backwards = spans[position, 1] < spans[position, 0]
        if backwards or (position and spans[position, 0] <= spans[position - 1, 1]):
            raise BenchmarkError(f"window {position} of {series!r} ({window.start} to {window.end}) "
                                 "ends before it starts or overlaps the previous window in row order; "
                                 "NAB merges overlapping windows into one, do the same in the labels")
    return spans
