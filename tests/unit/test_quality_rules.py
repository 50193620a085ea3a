"""Quality rules read a contract's numbers as written: a bound of 0 is a bound, not "unset"."""

import pyarrow as pa

from lakeguard.contracts.model import QualityRule
from lakeguard.pipeline.quality import check_rule


def test_min_rows_zero_accepts_an_empty_table():
    # GIVEN a contract rule that explicitly allows an empty object (min = 0)
    rule = QualityRule("min_rows", min=0)
    # WHEN the clean data has no row THEN the rule passes (it used to read 0 as 1)
    assert check_rule(pa.table({"x": pa.array([], pa.int64())}), rule) is None


def test_min_rows_without_min_still_needs_one_row():
    rule = QualityRule("min_rows")
    assert check_rule(pa.table({"x": pa.array([], pa.int64())}), rule) == "0 rows < 1"
    assert check_rule(pa.table({"x": [1]}), rule) is None


def test_range_with_zero_bounds_is_checked():
    rule = QualityRule("range", columns=("x",), min=0, max=0)
    assert check_rule(pa.table({"x": [0, 0]}), rule) is None
    assert check_rule(pa.table({"x": [-1, 1]}), rule) == "x min -1 < 0; x max 1 > 0"
