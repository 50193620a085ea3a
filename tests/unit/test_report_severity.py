"""The report ranks a team's anomalies by severity, says why, and states the rate to expect."""

import datetime as dt

import pytest

from lakeguard.cli.report import AlertRate, alert_rate, entity_anomalies, write_report

# (team, date, opponent, home/away, for, against, lower, upper, score, flagged, why)
MATCHES = [
    ("Marseille", dt.date(1997, 3, 1), "Nancy", "home", 4, 0, -3.0, 3.5, 1.15, True, "a big win"),
    ("Marseille", dt.date(1997, 5, 24), "Lyon", "away", 0, 8, -4.4, 4.4, 1.82, True, "a record defeat"),
    ("Marseille", dt.date(1997, 4, 5), "Metz", "home", 1, 1, -3.0, 3.5, 0.1, False, ""),
    ("Lyon", dt.date(1997, 5, 24), "Marseille", "home", 8, 0, -4.0, 4.0, 1.78, True, "a record win"),
    ("Lyon", dt.date(1997, 4, 5), "Metz", "away", 1, 0, -4.0, 4.0, 0.2, False, ""),
]


@pytest.fixture
def lake(iceberg_server, tmp_path):
    """One season, two teams: three flagged matches out of five, in tables of their own."""
    from lakeguard.tables import Names, Source

    from .conftest import export_refined

    names = Names("c_report", "r_report", "clean-report", "refined-report")
    source = Source("run-report", "key-report", "matches/1996-97.csv", "v", "d")
    rows = [{"date": d, "team": t, "opponent": o, "home_away": h, "goals_for": f,
             "goals_against": a, "num_goals_net": f - a, "season": "1996-97"}
            for t, d, o, h, f, a, *_ in MATCHES]
    scored = [{"entity": t, "ts": d, "value": float(f - a), "lower": lo, "upper": hi, "score": s,
               "is_anomaly": flag, "alert": flag, "reason": why, "detector": "range_likelihood",
               "model_version": "v1", "dataset": "matches", "season": "1996-97"}
              for t, d, _, _, f, a, lo, hi, s, flag, why in MATCHES]
    return export_refined(names, tmp_path, {source: (rows, scored)})


def test_anomalies_come_most_severe_first_with_expected_range_and_reason(lake):
    rows = entity_anomalies(lake, "Marseille").to_pylist()
    assert [(str(r["date"]), r["result"]) for r in rows] == [("1997-05-24", "0-8"), ("1997-03-01", "4-0")]
    assert rows[0]["anomaly_score"] == 1.82 and rows[0]["expected"] == "-4.4 to 4.4"
    assert rows[0]["why"] == "a record defeat"


def test_the_rate_to_expect_counts_every_team_and_the_one_shown(lake):
    rate = alert_rate(lake, "Marseille")
    assert rate == AlertRate(points=5, flagged=3, entity_points=3, entity_flagged=2)
    sentence = rate.sentence("Marseille")
    assert "3 of the 5 matches" in sentence and "1 in 2 (60.0%)" in sentence
    assert "Marseille: 2 of 3" in sentence
    assert "none of the 4 matches" in AlertRate(4, 0, 2, 0).sentence("Lyon")


def test_the_page_states_the_rate_and_lists_the_defeat_first(lake, tmp_path):
    page = write_report(lake, "Marseille", out_dir=tmp_path / "out").html.read_text()
    assert "that is the rate to expect" in page
    assert page.index("0-8") < page.index("4-0") and "a record defeat" in page
