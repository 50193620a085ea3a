import pytest

from lakeguard.contracts import load_contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

HEADER = b"Date,Team 1,FT,HT,Team 2\r\n"
# Real rows of the 1996-97 season (football-data.co.uk via footballcsv).
ROWS = (b"Sun Aug 11 1996,Marseille,3-1,1-1,Lyon\r\n"
        b"Sat May 24 1997,Lyon,8-0,7-0,Marseille\r\n")


@pytest.fixture(scope="module")
def contract():
    return load_contract("matches")


def test_parses_real_rows_into_typed_columns_with_season(contract):
    table, report = parse_table(HEADER + ROWS, contract)
    assert report.rows_in == 2 and report.rows_out == 2 and report.rows_rejected == 0
    row = table.to_pylist()[1]
    assert str(row["date"]) == "1997-05-24"
    assert (row["home_team"], row["away_team"]) == ("Lyon", "Marseille")
    assert (row["home_goals"], row["away_goals"]) == (8, 0)
    assert (row["home_goals_ht"], row["away_goals_ht"]) == (7, 0)
    assert row["season"] == "1996-97"


def test_unknown_half_time_is_null_and_team_names_are_normalised(contract):
    table, _ = parse_table(HEADER + b"Fri Jul 23 1993,  Paris   SG ,1-0,?,Monaco\r\n", contract)
    row = table.to_pylist()[0]
    assert row["home_team"] == "Paris SG"
    assert row["home_goals_ht"] is None and row["season"] == "1993-94"


def test_malformed_score_is_rejected_with_row_and_column_not_crash(contract):
    # GIVEN a score written "3 -1" and a blank line between rows
    data = HEADER + b"Sun Aug 11 1996,Marseille,3 -1,1-1,Lyon\r\n\r\n" + ROWS
    # WHEN parsed
    table, report = parse_table(data, contract)
    # THEN the blank line is skipped, the bad row is rejected with a reason, the rest is kept
    assert report.rows_in == 3 and report.rows_out == 2
    assert [(r.row, r.column) for r in report.rejects] == [(1, "FT")]
    assert "goals-goals" in report.rejects[0].reason
    assert table.num_rows == 2


def test_bad_date_rejected_naming_expected_format(contract):
    _, report = parse_table(HEADER + b"2019-08-09,A,1-0,0-0,B\r\n", contract)
    assert report.rejects[0].column == "Date" and "%a %b %d %Y" in report.rejects[0].reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"Date,Team 1,HT,Team 2\r\nx,y,z,w\r\n", "missing required column.*FT"),
        (b"Date,Team 1,FT,HT,Team 2,Extra\r\n", "unknown column"),
        (b"Date,Team 1,FT,FT,HT,Team 2\r\n", "duplicated column"),
    ],
)
def test_bad_headers_fail_clearly(contract, data, message):
    with pytest.raises(ValidationFailed, match=message):
        parse_table(data, contract)


def test_team_perspective_gives_two_rows_per_match_with_net_goals(contract):
    clean, _ = parse_table(HEADER + ROWS, contract)
    refined = refine_table(clean, contract.refined_table("team_matches"), contract)
    rows = {(r["team"], str(r["date"])): r for r in refined.to_pylist()}
    assert refined.num_rows == 4
    defeat = rows[("Marseille", "1997-05-24")]
    assert defeat["opponent"] == "Lyon" and defeat["home_away"] == "away"
    assert (defeat["goals_for"], defeat["goals_against"], defeat["num_goals_net"]) == (0, 8, -8)
    assert rows[("Lyon", "1997-05-24")]["num_goals_net"] == 8
    assert rows[("Marseille", "1996-08-11")]["home_away"] == "home"


def test_a_spreadsheet_formula_arrives_as_text(contract):
    data = (b"Date,Team 1,FT,HT,Team 2\n"
            b"Sun Aug 11 1996,=cmd|' /C calc'!A0,2-0,1-0,@SUM(1+1)\n"
            b"Sun Aug 11 1996,Bastia,2-0,1-0,Rennes\n")
    table, _ = parse_table(data, contract)
    assert table["home_team"].to_pylist() == ["'=cmd|' /C calc'!A0", "Bastia"]
    assert table["away_team"].to_pylist() == ["'@SUM(1+1)", "Rennes"]


def test_unknown_columns_are_rejected_or_ignored_as_the_contract_says(contract):
    from dataclasses import replace

    data = (b"Date,Team 1,FT,HT,Team 2,Referee\n"
            b"Sun Aug 11 1996,Bastia,2-0,1-0,Rennes,Someone\n")
    with pytest.raises(ValidationFailed, match=r"unknown column\(s\) at position\(s\) \[6\].*ignore"):
        parse_table(data, contract)
    lenient = replace(contract, raw=replace(contract.raw, unknown_columns="ignore"))
    table, report = parse_table(data, lenient)
    assert report.rows_out == 1 and "Referee" not in table.column_names
