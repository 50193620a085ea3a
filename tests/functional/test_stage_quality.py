"""The quality gate through its handler, over what Clean staged."""

import pytest

from lakeguard.exceptions import QualityGateFailed
from tests.functional.conftest import SEASON, Lake


def _cleaned(lake: Lake, body: bytes) -> dict:
    state = lake.drop("matches/2006-07.csv", body)
    state["validation"] = Lake.invoke("validate", state)
    state["clean"] = Lake.invoke("clean", state)
    return state


def test_a_season_passes_every_rule_of_its_contract(lake: Lake):
    # GIVEN a cleaned season WHEN the gate runs THEN each of the contract's rules passed
    result = Lake.invoke("quality", _cleaned(lake, SEASON))
    assert result["passed"] is True and result["rows"] == 380
    assert [c["rule"] for c in result["checks"]] == [
        "not_null(date, home_team, away_team, home_goals, away_goals)",
        "range(home_goals, away_goals)", "min_rows()", "unique(date, home_team)"]
    assert all(c["passed"] for c in result["checks"])


def test_a_match_listed_twice_fails_the_unique_rule(lake: Lake):
    # GIVEN a season with one match repeated (a producer's export bug)
    lines = SEASON.decode().splitlines()
    state = _cleaned(lake, "\n".join([*lines, lines[5]]).encode())
    # WHEN the gate runs THEN it fails naming the rule and the count, no team or date
    with pytest.raises(QualityGateFailed) as raised:
        Lake.invoke("quality", state)
    message = str(raised.value)
    assert "unique(date, home_team): 1 duplicated ['date', 'home_team'] rows" in message
    assert lines[5].split(",")[1] not in message


def test_an_impossible_score_fails_the_range_rule(lake: Lake):
    lines = SEASON.decode().splitlines()
    fields = lines[7].split(",")
    lines[7] = ",".join([*fields[:2], "21-0", *fields[3:]])
    with pytest.raises(QualityGateFailed, match=r"range\(home_goals, away_goals\): "
                                                r"home_goals max 21 > 20"):
        Lake.invoke("quality", _cleaned(lake, "\n".join(lines).encode()))
