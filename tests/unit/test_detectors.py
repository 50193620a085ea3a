"""Behaviour every detector must share (parametrised over DETECTORS), then detector specifics."""

import json

import numpy as np
import pytest

from lakeguard.contracts.model import DETECTOR_NAMES
from lakeguard.exceptions import InsufficientHistory, ModelError
from lakeguard.ml.detectors import DETECTORS, load
from lakeguard.ml.detectors.forecast_likelihood import ForecastLikelihood, choose_period
from lakeguard.ml.detectors.range_likelihood import RangeLikelihood
from lakeguard.ml.detectors.robust_zscore import RobustZScore

PERIOD = 24
#: Per-detector settings for the shared tests: the quantile band spans the whole history
#: (its default 5-95% band flags 10% of normal points by design); all debounce over 10 points.
TEST_PARAMS = {
    "quantile_band": {"lower_quantile": 0.0, "upper_quantile": 1.0, "cooldown": 10},
    "robust_zscore": {"cooldown": 10},
    "forecast_likelihood": {"cooldown": 10},
    "range_likelihood": {"cooldown": 10, "miss_gap": 10},
}
SPIKES = (100, 250)
BURST = slice(400, 405)


def _cycle(n, start=0, seed=3, noise=0.3):
    """A daily-looking cycle (period 24) with a little noise."""
    t = np.arange(start, start + n)
    return 10.0 + 3.0 * np.sin(2 * np.pi * t / PERIOD) + np.random.default_rng(seed).normal(0, noise, n)


HISTORY = _cycle(600, seed=1)


def _new_points():
    """What follows the history: two lone spikes and a 5-point level burst, far apart.

    The noise is a little smaller than the history's, so no normal point sets a new record
    (which the whole-history quantile band would rightly flag).
    """
    values = _cycle(550, start=600, seed=2, noise=0.2)
    for i in SPIKES:
        values[i] += 30.0
    values[BURST] += 30.0
    return values


def _fit(name, history=HISTORY, **extra):
    return DETECTORS[name].fit(history, {**TEST_PARAMS.get(name, {}), **extra})


def _same(a, b):
    for field in ("value", "lower", "upper", "score", "is_anomaly", "alert"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.reason == b.reason


def test_every_detector_has_test_settings():
    assert set(TEST_PARAMS) == set(DETECTORS)


def test_contracts_accept_exactly_the_detectors_that_exist():
    assert set(DETECTOR_NAMES) == set(DETECTORS)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_planted_anomalies_are_flagged_and_normal_points_are_not(name):
    explained = _fit(name).score(_new_points())
    for i in SPIKES:
        assert explained.is_anomaly[i] and explained.alert[i], i
        assert explained.score[i] > 1.0
        assert "expected range" in explained.reason[i]
    assert explained.is_anomaly[BURST].all()
    # Normal points, away from where a forecast is still recovering from an anomaly, are quiet.
    quiet = np.ones(550, dtype=bool)
    for i in (*SPIKES, BURST.start):
        quiet[i:i + 40] = False
    assert not explained.is_anomaly[quiet].any()
    assert explained.reason[0] == ""


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_a_five_point_burst_raises_one_alert(name):
    explained = _fit(name).score(_new_points())
    region = slice(BURST.start - 5, BURST.start + 60)
    assert np.flatnonzero(explained.alert[region]).tolist() == [5]
    assert explained.alert.sum() == len(SPIKES) + 1


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_expected_range_and_score_agree(name):
    explained = _fit(name).score(_new_points())
    assert (explained.lower <= explained.upper).all()
    outside = (explained.value < explained.lower) | (explained.value > explained.upper)
    np.testing.assert_array_equal(outside, explained.is_anomaly)
    assert np.isfinite(explained.lower).all() and np.isfinite(explained.upper).all()


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_json_round_trip_gives_the_same_detector_and_scores(name):
    model = _fit(name)
    doc = json.loads(json.dumps(model.to_json()))
    again = load(name, doc)
    assert again == model
    _same(again.score(_new_points()), model.score(_new_points()))


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_fitting_twice_gives_identical_bytes(name):
    first = json.dumps(_fit(name).to_json(), sort_keys=True)
    assert json.dumps(_fit(name).to_json(), sort_keys=True) == first


@pytest.mark.parametrize("name", sorted(DETECTORS))
@pytest.mark.parametrize("k", [1, 101, 402, 549])
def test_scores_are_causal(name, k):
    model, values = _fit(name), _new_points()
    full, head = model.score(values), model.score(values[:k])
    for field in ("lower", "upper", "score", "is_anomaly", "alert"):
        np.testing.assert_array_equal(getattr(full, field)[:k], getattr(head, field), err_msg=field)
    assert full.reason[:k] == head.reason


@pytest.mark.parametrize("name", sorted(DETECTORS))
@pytest.mark.parametrize("params", [{"cooldown": -1}, {"bogus": 1}])
def test_bad_shared_params_are_refused_naming_them(name, params):
    with pytest.raises(ModelError, match=next(iter(params))):
        DETECTORS[name].fit(HISTORY, params)


@pytest.mark.parametrize(("name", "params"), [
    ("quantile_band", {"upper_quantile": 1.5}),
    ("robust_zscore", {"window": 1}),
    ("robust_zscore", {"threshold": -1.0}),
    ("forecast_likelihood", {"alpha": 1.5}),
    ("forecast_likelihood", {"gamma": -0.1}),
    ("forecast_likelihood", {"season": "weekly"}),
    ("forecast_likelihood", {"season": 1}),
    ("forecast_likelihood", {"season": True}),
    ("forecast_likelihood", {"tail_probability": 0.0}),
    ("forecast_likelihood", {"window": 0}),
    ("forecast_likelihood", {"cap": 0.5}),
    ("forecast_likelihood", {"max_season": 1}),
    ("range_likelihood", {"range_tolerance": -0.1}),
    ("range_likelihood", {"min_gain": 1.5}),
    ("range_likelihood", {"miss_gap": -1}),
    ("range_likelihood", {"season": "daily"}),
])
def test_bad_params_are_refused_naming_them(name, params):
    with pytest.raises(ModelError, match=next(iter(params))):
        DETECTORS[name].fit(HISTORY, params)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_too_short_history_is_refused(name):
    with pytest.raises(InsufficientHistory, match="at least 20"):
        DETECTORS[name].fit(np.arange(5, dtype=float), {"min_history": 20})
    with pytest.raises(InsufficientHistory):
        DETECTORS[name].fit(np.full(30, np.nan), {})


def test_seasonal_robust_zscore_catches_a_point_normal_globally_but_not_for_its_phase():
    # GIVEN a strong daily cycle and, at a trough, a value only ever seen at peaks
    history = 10.0 + 5.0 * np.sin(2 * np.pi * np.arange(600) / PERIOD) + np.random.default_rng(5).normal(
        0, 0.2, 600)
    values = 10.0 + 5.0 * np.sin(2 * np.pi * np.arange(600, 648) / PERIOD)
    trough = int(np.argmin(values[:PERIOD]))
    values[trough] = 15.0
    assert history.min() < 15.0 < history.max()
    # THEN comparing with the same phase of earlier cycles flags it, the plain window does not
    assert RobustZScore.fit(history, {"season": PERIOD}).score(values).is_anomaly[trough]
    assert not RobustZScore.fit(history, {}).score(values).is_anomaly[trough]
    # and the forecast detector, which finds the cycle itself, flags it too
    model = ForecastLikelihood.fit(history, {})
    assert model.period == PERIOD
    assert model.score(values).is_anomaly[trough]


def test_forecast_likelihood_finds_the_cycle_or_none():
    assert choose_period(_cycle(600), 0.3, 0.1, 2016) == PERIOD
    noise = np.random.default_rng(9).normal(0, 1, 600)
    assert choose_period(noise, 0.3, 0.1, 2016) == 0
    assert choose_period(_cycle(600), 0.3, 0.1, 12) == 0  # the cycle is longer than max_season
    assert ForecastLikelihood.fit(_cycle(600), {"season": 0}).period == 0
    assert ForecastLikelihood.fit(_cycle(600), {"season": 48}).period == 48


def test_forecast_likelihood_state_is_bounded():
    model = ForecastLikelihood.fit(_cycle(5000), {"window": 10})
    state = model.to_json()["state"]
    assert len(state["seasonal"]) == model.period == PERIOD
    assert len(state["recent"]) == 9
    assert all(isinstance(v, int | float) for v in [state["level"], state["scale"], state["mean"],
                                                     state["var"], state["count"]])


def test_forecast_likelihood_explains_a_burst_of_moderate_errors():
    # GIVEN errors each too small to alarm alone (a few times the noise) but many in a row
    clean = _cycle(200, start=600, seed=4)
    burst, lone = clean.copy(), clean.copy()
    burst[50:70] += np.where(np.arange(20) % 2, 1.2, -1.2)
    lone[50] -= 1.2
    model = ForecastLikelihood.fit(HISTORY, {})
    explained = model.score(burst)
    # THEN the burst is flagged, a single such error is not
    assert explained.is_anomaly[50:70].any()
    assert not model.score(lone).is_anomaly.any()
    first = int(np.flatnonzero(explained.is_anomaly)[0])
    assert "typical errors" in explained.reason[first] and "24-point cycle" in explained.reason[first]


def test_forecast_likelihood_passes_over_missing_values():
    values = _new_points()
    values[10] = np.nan
    explained = ForecastLikelihood.fit(HISTORY, {}).score(values)
    assert not explained.is_anomaly[10] and explained.score[10] == 0.0 and explained.reason[10] == ""
    assert explained.is_anomaly[SPIKES[0]]


def test_forecast_likelihood_refuses_a_broken_document():
    doc = ForecastLikelihood.fit(HISTORY, {}).to_json()
    with pytest.raises(ModelError, match="forecast_likelihood"):
        ForecastLikelihood.from_json({"params": doc["params"]})
    broken = {"params": doc["params"], "state": {**doc["state"], "seasonal": [1.0, 2.0]}}
    with pytest.raises(ModelError, match="period"):
        ForecastLikelihood.from_json(broken)


def test_forecast_likelihood_needs_two_cycles_of_history_for_a_fixed_season():
    with pytest.raises(InsufficientHistory, match="at least 400"):
        ForecastLikelihood.fit(HISTORY[:300], {"season": 200})


def test_range_likelihood_alerts_on_a_new_extreme_once_and_says_so():
    # GIVEN a level drop to well below anything seen, then the same value again later
    values = _cycle(300, start=600, seed=6)
    values[[50, 200]] = HISTORY.min() - 5.0
    explained = RangeLikelihood.fit(HISTORY, {}).score(values)
    # THEN the first one alerts as a new extreme, the repeat is inside the span it widened
    assert explained.alert[50] and "lower than the lowest value seen before" in explained.reason[50]
    assert "lower than the lowest" not in explained.reason[200]
    assert explained.lower[50] > values[50] and explained.score[50] > 1.0


def test_range_likelihood_flags_what_stays_in_range_but_breaks_the_cycle():
    # GIVEN a daily cycle, then a day stuck at the cycle's mean: every value is well inside
    # the span seen before, only the forecast can tell
    values = _cycle(24 * 6, start=600, seed=7, noise=0.1)
    values[48:72] = 10.0
    explained = RangeLikelihood.fit(HISTORY, {}).score(values)
    first = int(np.flatnonzero(explained.alert)[0])
    assert 48 <= first < 72 and explained.alert.sum() == 1
    assert "from the forecast" in explained.reason[first] and "24-point cycle" in explained.reason[first]
    assert "seen before" not in explained.reason[first]
    assert HISTORY.min() < values[48:72].min() and values[48:72].max() < HISTORY.max()


def test_range_likelihood_holds_alerts_during_the_cooldown_and_says_why():
    values = _cycle(100, start=600, seed=8)
    values[[10, 14]] = HISTORY.max() + np.array([20.0, 40.0])
    explained = RangeLikelihood.fit(HISTORY, {"cooldown": 10, "miss_gap": 0}).score(values)
    assert explained.alert[10] and explained.is_anomaly[14] and not explained.alert[14]
    assert "no new alert: 4 point(s) after the last alert (cooldown 10)" in explained.reason[14]
    again = RangeLikelihood.fit(HISTORY, {"cooldown": 3, "miss_gap": 0}).score(values)
    assert again.alert[14]


def test_range_likelihood_reports_a_run_of_forecast_misses_once():
    # GIVEN every other value mirrored around the cycle's mean for 30 points: out of phase,
    # but inside the span seen before
    values = _cycle(200, start=600, seed=9)
    values[50:80:2] = 20.0 - values[50:80:2]
    explained = RangeLikelihood.fit(HISTORY, {"cooldown": 0, "miss_gap": 20}).score(values)
    misses = np.flatnonzero(explained.is_anomaly[40:100]) + 40
    assert misses.size > 3 and explained.alert[40:100].sum() == 1
    assert any("the forecast already missed" in explained.reason[i] for i in misses)


def test_range_likelihood_state_is_bounded_and_refuses_a_broken_document():
    model = RangeLikelihood.fit(_cycle(5000), {})
    state = model.to_json()["state"]
    assert len(state["seasonal"]) == model.period == PERIOD and len(state["recent"]) == 9
    assert state["low"] <= state["high"] and state["since_alert"] is None
    with pytest.raises(ModelError, match="range_likelihood"):
        RangeLikelihood.from_json({"params": model.params, "state": {**state, "low": None}})
    with pytest.raises(ModelError, match="span"):
        RangeLikelihood.from_json({"params": model.params, "state": {**state, "low": state["high"] + 1}})


def test_range_likelihood_passes_over_missing_values():
    values = _new_points()
    values[[10, SPIKES[0] - 1]] = np.nan
    explained = RangeLikelihood.fit(HISTORY, TEST_PARAMS["range_likelihood"]).score(values)
    assert not explained.is_anomaly[10] and explained.score[10] == 0.0 and explained.reason[10] == ""
    assert explained.alert[SPIKES[0]]
