import json

import numpy as np
import pytest

from lakeguard.exceptions import ModelError
from lakeguard.ml.quantile_band import QuantileBand


def test_band_covers_about_ninety_percent_and_flags_the_tails():
    # GIVEN a synthetic series of net goals with two planted blow-outs
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.integers(-2, 3, size=300).astype(float), [-8.0, 6.0]])
    band = QuantileBand.fit(values, 0.05, 0.95)
    scores, flagged = band.score(values)
    # THEN the planted anomalies are flagged, the normal points are not, and scores say how far
    assert flagged[-2] and flagged[-1]
    assert flagged[:-2].sum() == 0
    assert scores[-2] > 1.0 and scores[-1] > 1.0
    assert band.lower <= -1.0 and band.upper >= 1.0


def test_state_round_trips_through_json_without_pickle():
    band = QuantileBand.fit(np.arange(100, dtype=float))
    again = QuantileBand.from_json(json.loads(json.dumps(band.to_json())))
    assert again == band


@pytest.mark.parametrize(("low", "high"), [(0.9, 0.1), (-0.1, 0.5), (0.2, 1.5)])
def test_bad_quantiles_are_refused(low, high):
    with pytest.raises(ModelError, match="lower_quantile"):
        QuantileBand.fit(np.arange(10, dtype=float), low, high)


def test_too_short_history_is_refused():
    with pytest.raises(ModelError, match="at least 20"):
        QuantileBand.fit(np.arange(5, dtype=float), min_history=20)
