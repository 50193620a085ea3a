"""The forecast likelihood: forecast each point, then ask how unusual the *recent* forecast errors are.

Two steps, each readable on its own:

1. **Forecast.** Exponential smoothing of the level (``alpha``) plus, when the history has a
   cycle, the usual deviation at this point of the cycle (additive Holt-Winters, ``gamma``).
   With ``season="auto"`` the cycle is found in the history: the autocorrelation peaks are
   candidates and one is kept only if it forecasts the second half of the history at least
   20% better than no cycle (a weekly rhythm in half-hourly taxi counts, for example).
2. **Likelihood of the recent errors.** Each error is measured in *typical errors* (a slow
   running mean of absolute errors) and capped at ``cap``. The average of the last ``window``
   errors is compared with its own long-run mean and standard deviation; a point is
   anomalous when its error, together with the previous ``window - 1``, makes that average
   rarer than ``tail_probability`` under a normal tail. This is the "anomaly likelihood"
   that Numenta's HTM detector applies to its raw scores, and most of why it does well on
   NAB: a lone noisy point is not an anomaly, a burst of unusual errors is, and a series
   that is always noisy raises its own bar.

The expected range of a point is the forecast plus or minus the largest error that would
*not* make the recent average improbable (never narrower than one typical error), so a
point is flagged exactly when it falls outside the range, and its score is the distance from
the forecast in half-widths, as for the other detectors. After a few unusual errors the
range narrows: the detector is already suspicious, so less is needed to tip it over.

Every point is scored using only the points before it. The state is the smoothed level,
the seasonal profile (at most ``max_season`` floats), the last ``window - 1`` errors and five
numbers, all plain JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from lakeguard.exceptions import InsufficientHistory, ModelError
from lakeguard.ml.detectors.base import Explanation, FloatArray, Params, debounce, finite

#: Defaults, one setting for every series, checked on NAB's realKnownCause files (see
#: ``bench/nab.py``): ``alpha`` 0.3 follows a new level within a few points without chasing
#: noise; ``gamma`` 0.1 learns the cycle over about ten periods; ``window`` 10 is Numenta's
#: averaging window (a burst of about ten odd points is an event, one is noise); ``cap`` 10
#: typical errors keeps one wild point from deciding alone or inflating the statistics for
#: weeks; ``tail_probability`` 1e-3 is about one flagged point per thousand normal ones
#: before debouncing; ``max_season`` 2016 is a week of 5-minute points; ``min_history`` 100
#: gives the error statistics something to stand on.
_DEFAULTS: dict[str, Any] = {"season": "auto", "max_season": 2016, "alpha": 0.3, "gamma": 0.1,
                             "window": 10, "tail_probability": 1e-3, "cap": 10.0,
                             "min_history": 100, "cooldown": 0}

#: Rate of the running mean of absolute errors (the "typical error"): about 100 points.
_SCALE_RATE = 0.01
#: Rate of the long-run mean and variance of the windowed error: about 10,000 points, and a
#: plain running mean until then, so the bar reflects the whole history, not last hour.
_STATS_RATE = 1e-4
#: Autocorrelation a lag needs before it is tried as a cycle.
_MIN_AUTOCORRELATION = 0.3
#: How many autocorrelation peaks are tried as a cycle.
_CANDIDATE_PERIODS = 6
#: Share by which a cycle must cut the forecast error to be kept.
_MIN_GAIN = 0.2
#: A cycle within this share of the best cycle's error is preferred when it is shorter.
_HARMONIC_TOLERANCE = 0.05
#: A band is never narrower than this many typical errors.
_MIN_HALF_WIDTH = 1.0


def upper_z(tail: float) -> float:
    """The z with ``P(Z > z) = tail`` for a standard normal Z (bisection, deterministic)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if 0.5 * math.erfc(mid / math.sqrt(2.0)) > tail:
            low = mid
        else:
            high = mid
    return high


def _floor(scale: float, level: float) -> float:
    """A typical error that is never zero, so a flat series still has a (tiny) range."""
    return max(scale, 1e-9 * max(abs(level), 1.0))


@dataclass
class Forecaster:
    """Additive Holt-Winters without trend: ``level + seasonal[phase]``."""

    alpha: float
    gamma: float
    level: float
    seasonal: list[float]
    phase: int = 0

    @classmethod
    def start(cls, history: FloatArray, period: int, alpha: float, gamma: float) -> Forecaster:
        """Level from the first cycle (or point); the cycle's deviations from it as the profile."""
        if period:
            level = float(np.mean(history[:period]))
            return cls(alpha, gamma, level, [float(v) - level for v in history[:period]])
        return cls(alpha, gamma, float(history[0]), [])

    def forecast(self) -> float:
        """The expected value of the next point."""
        return self.level + (self.seasonal[self.phase] if self.seasonal else 0.0)

    def update(self, value: float) -> None:
        """Learn from the point just seen (NaN: only the clock moves on)."""
        if not math.isnan(value):
            season = self.seasonal[self.phase] if self.seasonal else 0.0
            level = self.level + self.alpha * (value - season - self.level)
            if self.seasonal:
                self.seasonal[self.phase] = season + self.gamma * (value - level - season)
            self.level = level
        if self.seasonal:
            self.phase = (self.phase + 1) % len(self.seasonal)


def _backtest_error(history: FloatArray, period: int, alpha: float, gamma: float) -> float:
    """Mean absolute one-step error over the second half of the history."""
    model = Forecaster.start(history, period, alpha, gamma)
    start, total = history.size // 2, 0.0
    for i, value in enumerate(history.tolist()):
        if i >= start:
            total += abs(value - model.forecast())
        model.update(value)
    return total / max(history.size - start, 1)


def _autocorrelation(history: FloatArray, max_lag: int) -> FloatArray:
    """Sample autocorrelation at lags ``0..max_lag`` (via the FFT)."""
    centred = history - history.mean()
    size = 1 << int(2 * history.size - 1).bit_length()
    spectrum = np.fft.rfft(centred, size)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), size)[:max_lag + 1]
    return np.asarray(acov / acov[0] if acov[0] > 0 else np.zeros(max_lag + 1), dtype=np.float64)


def choose_period(history: FloatArray, alpha: float, gamma: float, max_season: int,
                  min_gain: float = _MIN_GAIN) -> int:
    """The cycle length that forecasts the history best, or 0 when none helps enough.

    Candidates are the strongest local peaks of the autocorrelation (lags up to half the
    history, so every candidate is seen at least twice); a candidate is kept only if its
    forecasts of the second half of the history beat no cycle by ``min_gain`` (a share of
    the error), and of those the shortest that forecasts about as well as the best.
    """
    max_lag = min(history.size // 2, max_season)
    if max_lag < 3:
        return 0
    acf = _autocorrelation(history, max_lag)
    peaks = [lag for lag in range(2, max_lag)
             if acf[lag] > acf[lag - 1] and acf[lag] >= acf[lag + 1] and acf[lag] > _MIN_AUTOCORRELATION]
    candidates = sorted(peaks, key=lambda lag: (-acf[lag], lag))[:_CANDIDATE_PERIODS]
    plain = _backtest_error(history, 0, alpha, gamma)
    errors = {lag: _backtest_error(history, lag, alpha, gamma) for lag in candidates}
    good = [lag for lag, error in errors.items() if error < (1.0 - min_gain) * plain]
    if not good:
        return 0
    best = min(errors[lag] for lag in good)
    # Multiples of a cycle forecast about as well as the cycle; keep the shortest that does.
    return min(lag for lag in good if errors[lag] <= (1.0 + _HARMONIC_TOLERANCE) * best)


@dataclass
class ErrorFilter:
    """The running state, advanced one point at a time by :meth:`step`."""

    forecaster: Forecaster
    scale: float
    mean: float
    var: float
    count: int
    recent: list[float] = field(default_factory=list)

    def step(self, value: float, window: int, cap: float, z: float) -> tuple[float, float, float, float]:
        """Judge ``value`` against the past, then learn from it.

        Returns the forecast, the band's half-width, the error in typical errors and the
        windowed average that error gives (both uncapped, for the reason text).
        """
        forecast = self.forecaster.forecast()
        scale = _floor(self.scale, self.forecaster.level)
        previous = sum(self.recent)
        points = len(self.recent) + 1
        limit = self.mean + z * math.sqrt(self.var)
        half = max(points * limit - previous, _MIN_HALF_WIDTH) * scale
        if math.isnan(value):
            self.forecaster.update(value)
            return forecast, half, math.nan, math.nan
        error = abs(value - forecast)
        relative = error / scale
        self.recent.append(min(relative, cap))
        average = sum(self.recent) / len(self.recent)
        del self.recent[:max(len(self.recent) - (window - 1), 0)]
        self.count += 1
        rate = max(_STATS_RATE, 1.0 / self.count)
        delta = average - self.mean
        self.mean += rate * delta
        self.var = (1.0 - rate) * (self.var + rate * delta * delta)
        self.scale += _SCALE_RATE * (error - self.scale)
        self.forecaster.update(value)
        return forecast, half, relative, (previous + relative) / points


@dataclass(frozen=True)
class ForecastLikelihood:
    """A fitted detector: parameters, the cycle found and the filter state it continues from."""

    name: ClassVar[str] = "forecast_likelihood"

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

    @classmethod
    def fit(cls, history: FloatArray, params: Mapping[str, Any]) -> ForecastLikelihood:
        """Find the cycle (if any), then run the filter over the history to warm it up."""
        p = _checked(params)
        season = p.values["season"]
        clean = finite(history, cls.name, max(p.integer("min_history", 2),
                                              2 * season if isinstance(season, int) else 0))
        alpha, gamma = float(p.values["alpha"]), float(p.values["gamma"])
        period = (choose_period(clean, alpha, gamma, int(p.values["max_season"]))
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
        return cls._from_filter(p.values, period, state)

    @classmethod
    def _from_filter(cls, params: dict[str, Any], period: int, state: ErrorFilter) -> ForecastLikelihood:
        f = state.forecaster
        return cls(params, period, f.phase, f.level, tuple(f.seasonal), state.scale, state.mean,
                   state.var, state.count, tuple(state.recent))

    def _filter(self) -> ErrorFilter:
        forecaster = Forecaster(float(self.params["alpha"]), float(self.params["gamma"]), self.level,
                                 list(self.seasonal), self.phase)
        return ErrorFilter(forecaster, self.scale, self.mean, self.var, self.count, list(self.recent))

    def score(self, values: FloatArray) -> Explanation:
        """Score each point against its forecast and the errors before it, then learn from it."""
        window, cap = int(self.params["window"]), float(self.params["cap"])
        tail = float(self.params["tail_probability"])
        z = upper_z(tail)
        state = self._filter()
        n = values.size
        forecast, half = np.empty(n), np.empty(n)
        relative, average = np.full(n, np.nan), np.full(n, np.nan)
        for i, value in enumerate(values.tolist()):
            forecast[i], half[i], relative[i], average[i] = state.step(value, window, cap, z)
        lower, upper = forecast - half, forecast + half
        flagged = (values < lower) | (values > upper)
        scores = np.where(np.isnan(values), 0.0, np.abs(values - forecast) / half)
        reasons = [_reason(self, i, values, lower, upper, forecast, scores, relative, average, tail)
                   if flagged[i] else "" for i in range(n)]
        return Explanation(values, lower, upper, scores, flagged,
                           debounce(flagged, int(self.params["cooldown"])), reasons)

    def to_json(self) -> dict[str, Any]:
        """Parameters and the filter state."""
        return {"params": self.params,
                "state": {"period": self.period, "phase": self.phase, "level": self.level,
                          "seasonal": list(self.seasonal), "scale": self.scale, "mean": self.mean,
                          "var": self.var, "count": self.count, "recent": list(self.recent)}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ForecastLikelihood:
        """Rebuild a fitted detector from :meth:`to_json` output."""
        try:
            params, state = dict(doc["params"]), doc["state"]
            _checked(params)
            detector = cls(params, int(state["period"]), int(state["phase"]), float(state["level"]),
                           tuple(float(v) for v in state["seasonal"]), float(state["scale"]),
                           float(state["mean"]), float(state["var"]), int(state["count"]),
                           tuple(float(v) for v in state["recent"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ModelError(f"not a forecast_likelihood model document: {err}") from err
        if len(detector.seasonal) != detector.period or not 0 <= detector.phase < max(detector.period, 1):
            raise ModelError("not a forecast_likelihood model document: the seasonal profile does "
                             f"not match period {detector.period}")
        return detector


def _checked(params: Mapping[str, Any]) -> Params:
    """Validate every parameter, naming the one that is wrong."""
    p = Params(ForecastLikelihood.name, params, _DEFAULTS)
    max_season = p.integer("max_season", 2, 5000)
    season = p.values["season"]
    if season != "auto" and (isinstance(season, bool) or not isinstance(season, int)
                             or season == 1 or not 0 <= season <= max_season):
        raise ModelError(f"forecast_likelihood needs season \"auto\", 0 (no cycle) or a cycle length "
                         f"in points between 2 and max_season ({max_season}), got {season!r} "
                         "(fix the contract's model.params)")
    p.number("alpha", 0.0, 1.0)
    p.number("gamma", 0.0, 1.0)
    p.integer("window", 1, 1000)
    p.number("tail_probability", 1e-12, 0.5)
    p.number("cap", 1.0)
    p.integer("min_history", 2)
    p.integer("cooldown", 0)
    return p


def _reason(detector: ForecastLikelihood, i: int, values: FloatArray, lower: FloatArray,
            upper: FloatArray, forecast: FloatArray, scores: FloatArray, relative: FloatArray,
            average: FloatArray, tail: float) -> str:
    side = "above" if values[i] > upper[i] else "below"
    window = min(int(detector.params["window"]), len(detector.recent) + 1 + i)
    cycle = f" and its {detector.period}-point cycle" if detector.period else ""
    return (f"{values[i]:g} is {side} the expected range [{lower[i]:.3g}, {upper[i]:.3g}] "
            f"({scores[i]:.1f}x the half-width from the forecast {forecast[i]:.3g}, made from the "
            f"recent level{cycle}); its error is {relative[i]:.1f} typical errors and the last "
            f"{window} errors average {average[i]:.1f}, a level reached less than once in "
            f"{1 / tail:,.0f} points ({detector.name})")
