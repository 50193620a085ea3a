"""Rows repeating a natural key another raw object published: found, described, refused."""

import datetime as dt

import pyarrow as pa
import pytest

from lakeguard.contracts import load_contract
from lakeguard.contracts.model import NaturalKey
from lakeguard.exceptions import NaturalKeyConflict
from lakeguard.pipeline.duplicates import find_conflicts, refuse_conflicts
from lakeguard.pipeline.event import ObjectRef
from lakeguard.tables.spec import SOURCE_COLUMN

KEY = NaturalKey(("date", "home_team"), "reject")
DAY = dt.date(2006, 8, 5)
REF = ObjectRef(bucket="raw", key="matches/copy.csv", version_id="v1", size=1,
                dataset="matches", run_id="run")


def _rows(days_teams):
    return pa.table({"date": pa.array([d for d, _ in days_teams], pa.date32()),
                     "home_team": pa.array([t for _, t in days_teams], pa.string()),
                     "home_goals": pa.array(range(len(days_teams)), pa.int64())})


def _published(days_teams, source="a1b2c3"):
    return pa.table({"date": pa.array([d for d, _ in days_teams], pa.date32()),
                     "home_team": pa.array([t for _, t in days_teams], pa.large_string()),
                     SOURCE_COLUMN: pa.array([source] * len(days_teams), pa.string())})


def test_only_rows_whose_whole_key_was_published_conflict():
    # GIVEN a file with four matches; two share date and home team with published rows,
    # one shares only the date, one has no home team
    rows = _rows([(DAY, "Marseille"), (DAY, "Lyon"), (DAY, "Nantes"), (DAY, None)])
    published = _published([(DAY, "Marseille"), (DAY, "Lyon"), (DAY, "Lens"),
                            (DAY + dt.timedelta(days=1), "Nantes")])
    # WHEN the conflicts are found
    conflicts = find_conflicts(rows, published, KEY)
    # THEN exactly the two repeated matches are, from the one source that published them
    assert conflicts.mask.to_pylist() == [True, True, False, False]
    assert conflicts.rows == 2 and conflicts.sources == ("a1b2c3",)


def test_nothing_published_means_no_conflict():
    rows = _rows([(DAY, "Marseille")])
    assert find_conflicts(rows, pa.table({}), KEY).rows == 0
    assert find_conflicts(rows.slice(0, 0), _published([(DAY, "Marseille")]), KEY).rows == 0


def test_reject_names_the_columns_and_count_never_a_value():
    contract = load_contract("matches")
    rejecting = type(contract)(**{**contract.__dict__, "natural_key": KEY})
    conflicts = find_conflicts(_rows([(DAY, "Marseille")]), _published([(DAY, "Marseille")]), KEY)
    with pytest.raises(NaturalKeyConflict) as caught:
        refuse_conflicts(conflicts, rejecting, REF)
    message = str(caught.value)
    assert "1 row(s) repeat a (date, home_team)" in message and "on_conflict = 'reject'" in message
    assert "Marseille" not in message and "2006" not in message


def test_skip_lets_the_quality_gate_go_on_but_publish_refuses_a_late_repeat():
    contract = load_contract("matches")  # on_conflict = "skip"
    conflicts = find_conflicts(_rows([(DAY, "Marseille")]), _published([(DAY, "Marseille")]), KEY)
    refuse_conflicts(conflicts, contract, REF)  # the gate leaves the rows out instead
    with pytest.raises(NaturalKeyConflict, match="re-drive"):
        refuse_conflicts(conflicts, contract, REF, at_publish=True)
