import json

import numpy as np
import pytest

from lakeguard.exceptions import InsufficientHistory, ModelError
from lakeguard.ml.detectors.quantile_band import QuantileBand


def test_band_covers_about_ninety_percent_and_flags_the_tails():
    # GIVEN a synthetic series of net goals with two planted blow-outs
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.integers(-2, 3, size=300).astype(float), [-8.0, 6.0]])
    band = QuantileBand.fit(values, {"lower_quantile": 0.05, "upper_quantile": 0.95})
    explained = band.score(values)
    # THEN the planted anomalies are flagged, the normal points are not, and scores say how far
    assert explained.is_anomaly[-2] and explained.is_anomaly[-1]
    assert explained.is_anomaly[:-2].sum() == 0
    assert explained.score[-2] > 1.0 and explained.score[-1] > 1.0
    assert band.lower <= -1.0 and band.upper >= 1.0
    assert "above the expected range" in explained.reason[-1]
    assert explained.reason[0] == ""


def test_adjacent_blow_outs_raise_one_alert_each_with_no_cooldown_and_one_with_cooldown():
    values = np.array([0.0, 9.0, 9.0, 0.0, 0.0, 9.0])
    history = np.zeros(50)
    assert QuantileBand.fit(history, {}).score(values).alert.tolist() == [
        False, True, False, False, False, True]
    assert QuantileBand.fit(history, {"cooldown": 3}).score(values).alert.sum() == 1


def test_state_round_trips_through_json_without_pickle():
    band = QuantileBand.fit(np.arange(100, dtype=float), {})
    again = QuantileBand.from_json(json.loads(json.dumps(band.to_json())))
    assert again == band


@pytest.mark.parametrize(("low", "high"), [(0.9, 0.1), (-0.1, 0.5), (0.2, 1.5)])
def test_bad_quantiles_are_refused(low, high):
    with pytest.raises(ModelError, match="quantile"):
        QuantileBand.fit(np.arange(10, dtype=float), {"lower_quantile": low, "upper_quantile": high})


def test_unknown_parameter_is_refused_naming_it():
    with pytest.raises(ModelError, match=r"no parameter.*windw"):
        QuantileBand.fit(np.arange(10, dtype=float), {"windw": 3})


def test_too_short_history_is_refused():
    with pytest.raises(InsufficientHistory, match="at least 20"):
        QuantileBand.fit(np.arange(5, dtype=float), {"min_history": 20})
