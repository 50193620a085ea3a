"""The range likelihood: a value beyond everything seen so far, or an improbable run of forecast errors.

Two questions per point, each answered from the past only:

1. **Range.** Does the value leave the span of every earlier value (lowest to highest),
   widened on each side by ``range_tolerance`` of that span? A new extreme is the plainest
   anomaly there is ("-8, lower than anything this team has had"), needs no model, and
   widens the span once seen, so the same extreme never alerts twice: the detector learns
   it in one shot. Numenta's HTM detector forces its score to 1 on such points for the same
   reason, and on NAB this test alone finds most labelled anomalies.
2. **Forecast likelihood.** Inside the span, is the value improbable given the recent level
   and cycle? This is :mod:`~lakeguard.ml.detectors.forecast_likelihood`'s test: the average
   of the last ``window`` forecast errors, in typical errors, against its own long-run
   distribution (Numenta's anomaly likelihood), so every series sets its own bar and a
   noisy one does not alarm on routine misses. It catches what stays in range: a flat day
   in a daily cycle, a holiday in a weekly one, a burst of odd values.

The expected range of a point is where both tests pass: the forecast band clipped to the
widened span. A point outside it is flagged, its score is its distance from the range's
centre in half-widths, and its reason names the test (or both) that failed. After an
alert, the next ``cooldown`` points raise no new alert (they are still flagged, and their
reason says the alert is held): one incident, one alert, as NAB's leaders do, since every
extra alert is a false positive to whoever reads them.

The defaults are set by leave-one-category-out cross-validation on NAB (``lakeguard-eval
nab cv``; see :data:`lakeguard_eval.crossval.GRIDS`), not fitted to any one series. The
state is the forecast filter's (level, cycle profile, error statistics), the span and the
points since the last alert, all plain JSON and bounded by ``max_season``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lakeguard.exceptions import InsufficientHistory, ModelError
from lakeguard.ml.detectors.base import Explanation, FloatArray, Params, finite
from lakeguard.ml.detectors.forecast_likelihood import (
    ErrorFilter,
    Forecaster,
    choose_period,
    upper_z,
)

#: Defaults chosen by ``lakeguard-eval nab cv`` from :data:`lakeguard_eval.crossval.GRIDS`
#: (leave-one-category-out on the 31 NAB series at hand; the same values won in all five
#: folds, see the README's NAB section). ``cooldown``: 20 silent points after an alert.
#: ``miss_gap``: 150 points without a forecast miss end an incident. ``range_tolerance``: a
#: value must leave the span by 5% of its width to count as a new extreme (a record by a
#: hair is noise). ``min_gain``: a cycle is kept when it cuts the forecast error by 5%, as
#: what a cycle buys an anomaly detector is the rare large error it explains (the edge of a
#: daily plateau), not the average one. The other forecast settings are
#: :mod:`~lakeguard.ml.detectors.forecast_likelihood`'s. ``min_history``: 10 points before
#: the span and the error statistics mean anything.
_DEFAULTS: dict[str, Any] = {"season": "auto", "max_season": 2016, "min_gain": 0.05, "alpha": 0.3,
                             "gamma": 0.1, "window": 10, "tail_probability": 1e-3, "cap": 10.0,
                             "range_tolerance": 0.05, "cooldown": 20, "miss_gap": 150,
                             "min_history": 10}

#: A range is never narrower than this share of the centre's magnitude (or 1e-9), so that
#: a flat series still has a finite score.
_MIN_HALF_WIDTH = 1e-9


@dataclass(frozen=True)
class _Point:
    """One judged point: its expected range and what each test said."""

    lower: float
    upper: float
    forecast: float
    fl_lower: float
    fl_upper: float
    span: tuple[float, float]
    relative: float
    average: float


@dataclass
class _Tracker:
    """The running state: the forecast filter, the span seen so far, and two clocks.

    ``since_alert`` counts the points since the last alert (``None``: none yet) for the
    cooldown; ``since_miss`` the points since the forecast band last missed, so that a run
    of misses (an incident) opens one forecast alert, not one per miss.
    """

    filter: ErrorFilter
    low: float
    high: float
    since_alert: int | None
    since_miss: int | None

    def step(self, value: float, window: int, cap: float, z: float, tolerance: float) -> _Point:
        """Judge ``value`` against the past, then learn from it (NaN: only the clock moves)."""
        width = self.high - self.low
        span = (self.low - tolerance * width, self.high + tolerance * width)
        forecast, half, relative, average = self.filter.step(value, window, cap, z)
        fl_lower, fl_upper = forecast - half, forecast + half
        lower, upper = max(fl_lower, span[0]), min(fl_upper, span[1])
        if lower > upper:  # the forecast band lies outside the span: trust the span's edge
            lower = upper = min(max(forecast, span[0]), span[1])
        if not math.isnan(value):
            self.low, self.high = min(self.low, value), max(self.high, value)
        return _Point(lower, upper, forecast, fl_lower, fl_upper, span, relative, average)

    def alert(self, value: float, point: _Point, cooldown: int, gap: int) -> bool:
        """Whether ``value`` opens an alert, advancing both clocks.

        A new extreme always may; a forecast miss only when it starts a new run of misses
        (more than ``gap`` points after the previous miss). Either waits out the cooldown.
        """
        outside_span = not point.span[0] <= value <= point.span[1]
        missed = not point.fl_lower <= value <= point.fl_upper
        new_run = missed and (self.since_miss is None or self.since_miss > gap)
        alert = (outside_span or new_run) and (self.since_alert is None
                                               or self.since_alert >= cooldown)
        self.since_miss = 0 if missed else _tick(self.since_miss)
        self.since_alert = 0 if alert else _tick(self.since_alert)
        return alert


def _tick(clock: int | None) -> int | None:
    return None if clock is None else clock + 1


def _held(since_alert: int | None, since_miss: int | None, cooldown: int) -> str:
    """Why a flagged point raised no alert: the cooldown, or an incident already reported."""
    if since_alert is not None and since_alert < cooldown:
        return (f"no new alert: {since_alert + 1} point(s) after the last alert "
                f"(cooldown {cooldown})")
    return f"no new alert: the forecast already missed {(since_miss or 0) + 1} point(s) earlier"


@dataclass(frozen=True)
class RangeLikelihood:
    """A fitted detector: parameters, the cycle found, and the state it continues from."""

    name: ClassVar[str] = "range_likelihood"

    params: dict[str, Any]
    period: int
    phase: int
    level: float
    seasonal: tuple[float, ...]
    scale: float
    mean: float
    var: float
    count: int
    recent: tuple[float, ...]
    low: float
    high: float
    since_alert: int | None
    since_miss: int | None

    @classmethod
    def fit(cls, history: FloatArray, params: Mapping[str, Any]) -> RangeLikelihood:
        """Find the cycle (if any), then run the filter over the history and note its span."""
        p = _checked(params)
        season = p.values["season"]
        clean = finite(history, cls.name, max(p.integer("min_history", 2),
                                              2 * season if isinstance(season, int) else 0))
        alpha, gamma = float(p.values["alpha"]), float(p.values["gamma"])
        period = (choose_period(clean, alpha, gamma, int(p.values["max_season"]),
                                float(p.values["min_gain"]))
                  if season == "auto" else int(season))
        if period and clean.size < 2 * period:
            raise InsufficientHistory(f"{cls.name} needs at least {2 * period} points of history "
                                      f"for season {period}, got {clean.size}")
        state = ErrorFilter(Forecaster.start(clean, period, alpha, gamma),
                            float(np.mean(np.abs(np.diff(clean)))), 0.0, 0.0, 0)
        window, cap = int(p.values["window"]), float(p.values["cap"])
        z = upper_z(float(p.values["tail_probability"]))
        for value in clean.tolist():
            state.step(value, window, cap, z)
        f = state.forecaster
        return cls(p.values, period, f.phase, f.level, tuple(f.seasonal), state.scale, state.mean,
                   state.var, state.count, tuple(state.recent), float(clean.min()),
                   float(clean.max()), None, None)

    def _tracker(self) -> _Tracker:
        forecaster = Forecaster(float(self.params["alpha"]), float(self.params["gamma"]), self.level,
                                list(self.seasonal), self.phase)
        return _Tracker(ErrorFilter(forecaster, self.scale, self.mean, self.var, self.count,
                                    list(self.recent)), self.low, self.high, self.since_alert,
                        self.since_miss)

    def score(self, values: FloatArray) -> Explanation:
        """Judge each point against the span and forecast before it, then learn from it."""
        window, cap = int(self.params["window"]), float(self.params["cap"])
        tolerance, cooldown = float(self.params["range_tolerance"]), int(self.params["cooldown"])
        gap = int(self.params["miss_gap"])
        z = upper_z(float(self.params["tail_probability"]))
        tracker = self._tracker()
        n = values.size
        lower, upper, scores = np.empty(n), np.empty(n), np.zeros(n)
        flagged, alerts = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        reasons = [""] * n
        for i, value in enumerate(values.tolist()):
            point = tracker.step(value, window, cap, z, tolerance)
            lower[i], upper[i] = point.lower, point.upper
            if math.isnan(value):
                tracker.since_alert, tracker.since_miss = (_tick(tracker.since_alert),
                                                           _tick(tracker.since_miss))
                continue
            centre, half = (point.lower + point.upper) / 2.0, (point.upper - point.lower) / 2.0
            scores[i] = abs(value - centre) / max(half, _MIN_HALF_WIDTH * max(abs(centre), 1.0))
            flagged[i] = not point.lower <= value <= point.upper
            since_alert, since_miss = tracker.since_alert, tracker.since_miss
            alerts[i] = tracker.alert(value, point, cooldown, gap)
            if flagged[i]:
                held = "" if alerts[i] else _held(since_alert, since_miss, cooldown)
                reasons[i] = self._reason(value, point, scores[i], held)
        return Explanation(values, lower, upper, scores, flagged, alerts, reasons)

    def _reason(self, value: float, point: _Point, score: float, held: str) -> str:
        """Which test failed, against what, and whether the alert is held by the cooldown."""
        side = "above" if value > point.upper else "below"
        tests = []
        low, high = point.span
        if not low <= value <= high:
            edge = "highest" if value > high else "lowest"
            tests.append(f"it is {'higher' if value > high else 'lower'} than the {edge} value seen "
                         f"before (span [{low:.3g}, {high:.3g}])")
        if not point.fl_lower <= value <= point.fl_upper:
            window = int(self.params["window"])
            cycle = f" and its {self.period}-point cycle" if self.period else ""
            tests.append(f"its error from the forecast {point.forecast:.3g} (recent level{cycle}) is "
                         f"{point.relative:.1f} typical errors and the last {window} errors average "
                         f"{point.average:.1f}, reached less than once in "
                         f"{1 / float(self.params['tail_probability']):,.0f} points")
        return (f"{value:g} is {side} the expected range [{point.lower:.3g}, {point.upper:.3g}] "
                f"({score:.1f}x the half-width from its centre): {'; '.join(tests)}"
                f"{'; ' + held if held else ''} ({self.name})")

    def to_json(self) -> dict[str, Any]:
        """Parameters and the running state."""
        return {"params": self.params,
                "state": {"period": self.period, "phase": self.phase, "level": self.level,
                          "seasonal": list(self.seasonal), "scale": self.scale, "mean": self.mean,
                          "var": self.var, "count": self.count, "recent": list(self.recent),
                          "low": self.low, "high": self.high, "since_alert": self.since_alert,
                          "since_miss": self.since_miss}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RangeLikelihood:
        """Rebuild a fitted detector from :meth:`to_json` output."""
        try:
            params, state = dict(doc["params"]), doc["state"]
            _checked(params)
            clocks = [None if state[k] is None else int(state[k]) for k in ("since_alert", "since_miss")]
            detector = cls(params, int(state["period"]), int(state["phase"]), float(state["level"]),
                           tuple(float(v) for v in state["seasonal"]), float(state["scale"]),
                           float(state["mean"]), float(state["var"]), int(state["count"]),
                           tuple(float(v) for v in state["recent"]), float(state["low"]),
                           float(state["high"]), *clocks)
        except (KeyError, TypeError, ValueError) as err:
            raise ModelError(f"not a {cls.name} model document: {err}") from err
        if len(detector.seasonal) != detector.period or not 0 <= detector.phase < max(detector.period, 1):
            raise ModelError(f"not a {cls.name} model document: the seasonal profile does not "
                             f"match period {detector.period}")
        if not detector.low <= detector.high:
            raise ModelError(f"not a {cls.name} model document: the span's low ({detector.low}) is "
                             f"above its high ({detector.high})")
        return detector


def _checked(params: Mapping[str, Any]) -> Params:
    """Validate every parameter, naming the one that is wrong."""
    p = Params(RangeLikelihood.name, params, _DEFAULTS)
    max_season = p.integer("max_season", 2, 5000)
    season = p.values["season"]
    if season != "auto" and (isinstance(season, bool) or not isinstance(season, int)
                             or season == 1 or not 0 <= season <= max_season):
        raise ModelError(f"{RangeLikelihood.name} needs season \"auto\", 0 (no cycle) or a cycle "
                         f"length in points between 2 and max_season ({max_season}), got {season!r} "
                         "(fix the contract's model.params)")
    p.number("min_gain", 0.0, 1.0)
    p.number("alpha", 0.0, 1.0)
    p.number("gamma", 0.0, 1.0)
    p.integer("window", 1, 1000)
    p.number("tail_probability", 1e-12, 0.5)
    p.number("cap", 1.0)
    p.number("range_tolerance", 0.0, 10.0)
    p.integer("cooldown", 0)
    p.integer("miss_gap", 0)
    p.integer("min_history", 2)
    return p
