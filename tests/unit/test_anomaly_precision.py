"""The band ``refined.anomalies`` stores: the digits a model can vouch for, no noise beyond."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lakeguard.ml.anomalies import BAND_DIGITS, band_decimals


def test_goal_differences_keep_hundredths():
    # a band about five goals either side of a centre, as the football model draws it
    lower, upper = np.array([-3.984605, -4.087978]), np.array([6.255762, 6.000985])
    assert band_decimals(lower, upper) == 2


def test_a_band_of_rates_keeps_as_many_significant_digits():
    lower, upper = np.array([0.010412, 0.010733]), np.array([0.018233, 0.018911])
    assert band_decimals(lower, upper) == 5  # half-width ~0.004: 0.00xxx


def test_a_band_with_no_width_keeps_the_old_six_decimals():
    assert band_decimals(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) == 6


@given(st.floats(1e-6, 1e6), st.floats(-1e6, 1e6))
def test_the_rounded_band_keeps_its_significant_digits(half, centre):
    lower, upper = np.array([centre - half]), np.array([centre + half])
    decimals = band_decimals(lower, upper)
    rounded = np.round(upper, decimals) - np.round(lower, decimals)
    # the stored width is the exact one to BAND_DIGITS significant digits
    assert abs(rounded[0] - 2 * half) <= 2 * half * 10.0 ** (1 - BAND_DIGITS) + 1e-9 * abs(centre)
