"""Where a new entity's first model stops learning: before the points it will judge."""

import datetime as dt

import pyarrow as pa

from lakeguard.contracts import load_contract
from lakeguard.pipeline.modelling import _first_cuts

SPEC = load_contract("matches").model
SERIES = pa.table({"date": [dt.date(2000, 1, day) for day in range(1, 11)],
                   "num_goals_net": list(range(10))})


def test_the_first_model_learns_from_the_history_before_this_run_first():
    # GIVEN a run whose first point is the 7th of the entity's ten
    # THEN its history before the run comes first, then the first half, then everything
    assert _first_cuts(SERIES, SPEC, dt.date(2000, 1, 7)) == [6, 5, 10]


def test_an_entity_new_in_this_run_learns_from_the_first_half_of_it():
    assert _first_cuts(SERIES, SPEC, dt.date(2000, 1, 1)) == [5, 10]


def test_without_a_run_the_whole_history_comes_first():
    assert _first_cuts(SERIES, SPEC, None) == [10, 5]
    assert _first_cuts(SERIES.slice(0, 1), SPEC, dt.date(2000, 1, 1)) == [1]
