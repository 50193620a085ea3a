"""Validate through its Lambda handler: route, size and header, before any parsing."""

import pytest

from lakeguard.exceptions import RoutingError, ValidationFailed
from tests.functional.conftest import SEASON, Lake


def test_a_season_is_routed_to_the_lambda_path(lake: Lake):
    # GIVEN a season dropped under the matches prefix
    state = lake.drop("matches/2006-07.csv", SEASON)
    # WHEN Validate runs
    result = Lake.invoke("validate", state)
    # THEN it names the contract and the engine, and the ledger shows the run under way
    assert result["dataset"] == "matches"
    assert result["route"] == "lambda" and result["size"] == len(SEASON)
    assert result["has_model"] is True and result["contract_digest"]
    assert lake.ledger(state).state == "processing"


def test_a_missing_column_is_refused_by_name(lake: Lake):
    # GIVEN a season whose away-team column was dropped by the producer
    rows = [",".join(line.split(",")[:4]) for line in SEASON.decode().splitlines()]
    state = lake.drop("matches/2006-07.csv", "\n".join(rows).encode())
    # WHEN Validate runs THEN it fails naming the column, and no cell value
    with pytest.raises(ValidationFailed) as raised:
        Lake.invoke("validate", state)
    assert "Team 2" in str(raised.value)
    assert "Nantes" not in str(raised.value) and "Lyon" not in str(raised.value)


def test_an_unclaimed_prefix_is_refused_with_the_known_prefixes(lake: Lake):
    state = lake.drop("misc/2006-07.csv", SEASON)
    with pytest.raises(RoutingError) as raised:
        Lake.invoke("validate", state)
    assert "matches/" in str(raised.value)


def test_an_empty_object_is_refused(lake: Lake):
    state = lake.drop("matches/empty.csv", b"")
    with pytest.raises(ValidationFailed, match="empty"):
        Lake.invoke("validate", state)
