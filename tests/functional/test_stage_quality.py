"""The quality gate through its handler, over what Clean staged, weighed against the lake."""

import pytest

from lakeguard.exceptions import DuplicateUpload, QualityGateFailed
from lakeguard.s3io import read_parquet
from tests.functional.conftest import SEASON, Lake, through_refine


@pytest.fixture
def lake(served_lake: Lake) -> Lake:
    """The gate reads the published clean table: the lake with its tables, in a moto server."""
    return served_lake


def _published(lake: Lake, key: str, body: bytes) -> dict:
    state = through_refine(lake, key, body)
    state["publish"] = Lake.invoke("publish", state)
    return state


def _cleaned(lake: Lake, body: bytes, key: str = "matches/2006-07.csv") -> dict:
    state = lake.drop(key, body)
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


def test_a_copy_of_a_published_season_under_another_key_is_a_duplicate_upload(lake: Lake):
    _published(lake, "matches/2006-07.csv", SEASON)
    with pytest.raises(DuplicateUpload, match=r"published from s3://[^ ]+/matches/2006-07\.csv"):
        Lake.invoke("quality", _cleaned(lake, SEASON, "matches/copy/2006-07.csv"))


def test_rows_another_key_published_are_left_out_of_the_hand_off(lake: Lake):
    # GIVEN the first 100 matches of the season published under one key
    lines = SEASON.decode().splitlines()
    _published(lake, "matches/first-half.csv", ("\n".join(lines[:101]) + "\n").encode())
    # WHEN the whole season arrives under another key
    state = _cleaned(lake, SEASON, "matches/whole.csv")
    result = Lake.invoke("quality", state)
    # THEN the gate leaves those 100 out of what Refine and Publish will read, and says so
    assert result["duplicates"]["rows_skipped"] == 100 and result["rows"] == 280
    assert result["duplicates"]["on_conflict"] == "skip"
    assert read_parquet(state["clean"]["outputs"]).num_rows == 280
