"""Strict typed values: dates round-trip, plausible ranges, clean text; no cell in a reason.

Each case is a finding of issue 15 (values published wrong, quietly): it must end as a
rejected row (or a warned one, where the contract says so) naming row, column and rule.
"""

from pathlib import Path

import pytest

from lakeguard.contracts import load_contract, parse_contract
from lakeguard.exceptions import ContractError
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

HEADER = "Date,Team 1,FT,HT,Team 2\n"
GOOD = "Sat May 24 1997,Lyon,8-0,7-0,Marseille\n"
SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"


@pytest.fixture(scope="module")
def matches():
    return load_contract("matches")


def _verdicts(contract, *rows):
    """Parse the good row then ``rows``; return (rejects, warnings, rows out)."""
    _, report = parse_table((HEADER + GOOD + "".join(rows)).encode(), contract)
    return report.rejects, report.warnings, report.rows_out


@pytest.mark.parametrize(
    ("row", "column", "rule"),
    [
        ("Sun Feb 30 2020,Lyon,1-0,0-0,Nice\n", "Date", "date.impossible"),
        ("Mon May 24 1997,Lyon,1-0,0-0,Nice\n", "Date", "date.weekday"),
        ("Fri May 24 0019,Lyon,1-0,0-0,Nice\n", "Date", "date.too_early"),
        ("Fri Dec 31 9999,Lyon,1-0,0-0,Nice\n", "Date", "date.future"),
        ("Sat Aug 15 2099,Lyon,1-0,0-0,Nice\n", "Date", "date.future"),
        ("Sat May 24 97,Lyon,1-0,0-0,Nice\n", "Date", "date.too_early"),
        ("Sat May 24 1997,Ly\x00on,1-0,0-0,Nice\n", "Team 1", "text.control"),
        ("Sat May 24 1997,Lyon,1-0,0-0,Ni\u0085ce\n", "Team 2", "text.control"),
        ("Sat May 24 1997,Lyon,1-0,0-0,Ni\tce\n", "Team 2", "text.control"),
        ("Sat May 24 1997,Ly\ufffdon,1-0,0-0,Nice\n", "Team 1", "text.invalid_unicode"),
        ("Sat May 24 1997,Lyon\uffff,1-0,0-0,Nice\n", "Team 1", "text.invalid_unicode"),
        ("Sat May 24 1997,Saint-\u00c3\u2030tienne,1-0,0-0,Nice\n", "Team 1", "text.mojibake"),
        ("Sat May 24 1997,Lyon,1-0,0-0,N\u00c3\u00aemes\n", "Team 2", "text.mojibake"),
    ],
)
def test_a_wrong_value_is_rejected_naming_row_column_and_rule(matches, row, column, rule):
    # GIVEN a real row, then one row holding a value that is wrong but parses today
    # WHEN parsed
    rejects, _, rows_out = _verdicts(matches, row)
    # THEN only the wrong row is rejected, by that rule, with a fix and without the value
    assert rows_out == 1
    assert [(r.row, r.column, r.rule) for r in rejects] == [(2, column, rule)]
    cells = row.rstrip("\n").split(",")
    assert not any(cell in rejects[0].reason for cell in cells if len(cell) > 2)
    assert rejects[0].reason and "\n" not in rejects[0].reason


def test_every_real_season_round_trips_without_a_reject(matches):
    # GIVEN the 31 bundled seasons, WHEN parsed strictly
    refined_rows = 0
    seasons = sorted(SEASONS.glob("*.csv"))
    for path in seasons:
        table, report = parse_table(path.read_bytes(), matches)
        # THEN every row passes, and the demo's team_matches keeps its 22,470 rows
        assert (report.rejects, report.warnings) == ([], []), path.name
        refined_rows += refine_table(table, matches.refined_table("team_matches"),
                                     matches).num_rows
    assert (len(seasons), refined_rows) == (31, 22_470)


def test_accented_names_and_plain_whitespace_are_not_flagged(matches):
    rows = ("Sat May 24 1997,Nîmes,1-0,0-0,Saint-Étienne\n"
            "Sat May 24 1997,  Paris   SG ,1-0,0-0,Évian Thonon Gaillard\n"
            "Sat May 24 1997,São Paulo,1-0,0-0,Ajaccio GFCO\n")
    rejects, warnings, rows_out = _verdicts(matches, rows)
    assert (rejects, warnings, rows_out) == ([], [], 4)


def _edited(contract_name, old, new):
    text = Path(f"datasets/{contract_name}.toml").read_text(encoding="utf-8")
    assert old in text
    return parse_contract(text.replace(old, new, 1), f"datasets/{contract_name}.toml")


def test_a_warning_bound_keeps_the_row_and_reports_it():
    # GIVEN goals bounded with a warning above 9
    contract = _edited("matches", 'into = ["home_goals", "away_goals"]',
                       'into = ["home_goals", "away_goals"]\n'
                       'bounds = { max = 9, severity = "warning" }')
    # WHEN Lyon's 8-0 and a 10-0 are parsed
    rejects, warnings, rows_out = _verdicts(contract, "Sat May 24 1997,Lyon,10-0,7-0,Nice\n")
    # THEN both rows are kept and the 10-0 is reported as a warning
    assert rejects == [] and rows_out == 2
    assert [(w.row, w.column, w.rule) for w in warnings] == [(2, "FT", "number.too_large")]
    assert "10" not in warnings[0].reason


def test_mojibake_can_be_downgraded_to_a_warning():
    contract = _edited("matches", 'source = "Team 1"', 'source = "Team 1"\nmojibake = "warning"')
    rejects, warnings, rows_out = _verdicts(
        contract, "Sat May 24 1997,Saint-\u00c3\u2030tienne,1-0,0-0,Nice\n")
    assert rejects == [] and rows_out == 2
    assert [(w.row, w.rule) for w in warnings] == [(2, "text.mojibake")]


def test_numbers_that_overflow_are_rejected_not_raised():
    # GIVEN an int column and a float column, with a 25-digit int and a float beyond 1e308
    contract = load_contract("customers")
    header = ",".join(c.source for c in contract.columns)
    good = ["7590-VHVEG", "Female", "0", "Yes", "No", "1", "No", "No phone service", "DSL",
            "No", "Yes", "No", "No", "No", "No", "Month-to-month", "Yes", "Electronic check",
            "29.85", "29.85", "No"]
    overflow = list(good)
    overflow[2] = "9" * 25
    infinite = list(good)
    infinite[18] = "1e999"
    data = "\n".join([header, ",".join(good), ",".join(overflow), ",".join(infinite)]) + "\n"
    # WHEN parsed
    _, report = parse_table(data.encode(), contract)
    # THEN both bad rows are rejected, by rule, without the number in the reason
    assert [(r.row, r.column, r.rule) for r in report.rejects] == [
        (2, "SeniorCitizen", "type"), (3, "MonthlyCharges", "number.not_finite")]
    assert not any("9" * 25 in r.reason or "1e999" in r.reason for r in report.rejects)


def _date_contract(extra):
    """A one-column contract whose date column carries ``extra`` TOML lines."""
    return ('name = "t"\nversion = "1"\npartition_by = []\n[raw]\nprefix = "t/"\n'
            'format = "csv"\n[[columns]]\nname = "d"\nsource = "d"\ntype = "date"\n'
            f'format = "%Y-%m-%d"\npolicy = "keep"\n{extra}\n')


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("bounds = { min = 3 }", r"columns\[0\]\.bounds\.min"),
        ('bounds = { min_year = 1932, severity = "fatal" }', r"columns\[0\]\.bounds\.severity"),
        ("bounds = { min_year = 2000, max_year = 1990 }", r"columns\[0\]\.bounds\.max_year"),
        ("bounds = { max_days_ahead = -1 }", r"columns\[0\]\.bounds\.max_days_ahead"),
        ('mojibake = "warning"', r"columns\[0\]\.mojibake"),
        ('bounds = [{ min_year = 1900 }, "x"]', r"columns\[0\]\.bounds"),
    ],
)
def test_bounds_mistakes_name_the_file_and_field(extra, field):
    with pytest.raises(ContractError, match=f"datasets/t.toml: field '{field}"):
        parse_contract(_date_contract(extra), "datasets/t.toml")


def test_bounds_may_be_one_table_or_several_with_their_own_severity():
    contract = parse_contract(_date_contract(
        'bounds = [{ min_year = 1900, max_days_ahead = 0 }, '
        '{ min_year = 1950, severity = "warning" }]'), "datasets/t.toml")
    first, second = contract.columns[0].bounds
    assert (first.min_year, first.max_days_ahead, first.severity) == (1900, 0, "error")
    assert (second.min_year, second.severity) == (1950, "warning")
    data = b"d\n1949-01-01\n1800-01-01\n2000-01-01\n"
    _, report = parse_table(data, contract)
    assert [(r.row, r.rule) for r in report.rejects] == [(2, "date.too_early")]
    assert [(w.row, w.rule) for w in report.warnings] == [(1, "date.too_early")]
    assert "bounds.min_year" in report.rejects[0].reason and "t.toml" in report.rejects[0].reason


def test_a_contract_without_bounds_still_refuses_years_before_the_gregorian_calendar():
    # Spark and Arrow disagree on dates before 1582-10-15 (Julian vs proleptic Gregorian):
    # such a date reached the refine job and came back as a 2 KB Java stack trace.
    contract = parse_contract(_date_contract(""), "datasets/t.toml")
    _, report = parse_table(b"d\n1582-01-01\n0097-05-24\n1583-01-01\n", contract)
    assert [(r.row, r.rule) for r in report.rejects] == [(1, "date.too_early"),
                                                         (2, "date.too_early")]
    assert "four digits" in report.rejects[1].reason
    assert "four digits" not in report.rejects[0].reason
