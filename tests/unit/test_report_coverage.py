"""The report says what it covers: when it was made, the seasons, the model versions, and the
gaps (a relegation is not missing data), and its chart marks them."""

import datetime as dt

import pytest

from lakeguard.cli import main
from lakeguard.cli.report import write_report
from lakeguard.cli.report_coverage import Coverage, coverage, missing_seasons, season_label


def test_season_labels_and_the_seasons_missing_between_two():
    assert season_label(1999) == "1999-00" and season_label(1994) == "1994-95"
    assert missing_seasons(["1993-94", "1996-97"], "1993-94", "1996-97") == ["1994-95", "1995-96"]
    assert missing_seasons(["1993-94", "1994-95"], "1993-94", "1994-95") == []


def test_the_sentences_tell_a_relegation_from_missing_data():
    seen = Coverage("Marseille", ("1993-94", "1994-95", "1995-96", "1996-97", "1998-99"),
                    ("1993-94", "1996-97", "1998-99"), 3, dt.date(1993, 8, 1), dt.date(1999, 5, 1),
                    not_in_data=("1997-98",), entity_absent=("1994-95", "1995-96"))
    text = " ".join(seen.sentences())
    assert "no match of Marseille in 1994-95, 1995-96" in text and "relegated" in text
    assert "no data at all for 1997-98" in text
    assert Coverage("X", (), (), 0, None, None, (), ()).sentences() == ["The data holds no match of X."]


# Marseille plays 1993-94 and 1996-97; Lyon every season: 1994-96 is Marseille's relegation.
SEASONS = {"1993-94": ["Marseille", "Lyon"], "1994-95": ["Lyon"], "1995-96": ["Lyon"],
           "1996-97": ["Marseille", "Lyon"]}


@pytest.fixture(scope="module")
def relegated(iceberg_server, tmp_path_factory):
    from lakeguard.tables import Names, Source

    from .conftest import export_refined

    names = Names("c_gaps", "r_gaps", "clean-gaps", "refined-gaps")
    seasons = {}
    for season, teams in SEASONS.items():
        year = int(season[:4])
        rows, scored = [], []
        for day, team in enumerate(teams):
            for match, (goals_for, goals_against) in enumerate(((1, 0), (0, 7))):
                date = dt.date(year, 9, 1 + day + 10 * match)
                rows.append({"date": date, "team": team, "opponent": "Nantes", "home_away": "home",
                             "goals_for": goals_for, "goals_against": goals_against,
                             "num_goals_net": goals_for - goals_against, "season": season})
                flagged = goals_against == 7
                scored.append({"entity": team, "ts": date, "value": float(goals_for - goals_against),
                               "lower": -3.0, "upper": 3.0, "score": 2.3 if flagged else 0.2,
                               "is_anomaly": flagged, "alert": flagged,
                               "reason": "a heavy defeat" if flagged else "",
                               "detector": "range_likelihood", "model_version": f"v{year}",
                               "dataset": "matches", "season": season})
        source = Source(f"run-{season}", f"key-{season}", f"matches/{season}.csv", "v", "d")
        seasons[source] = (rows, scored)
    return export_refined(names, tmp_path_factory.mktemp("gaps"), seasons)


def test_coverage_names_the_relegation_seasons(relegated):
    seen = coverage(relegated, "Marseille")
    assert seen.entity_seasons == ("1993-94", "1996-97") and seen.entity_matches == 4
    assert seen.entity_absent == ("1994-95", "1995-96") and seen.not_in_data == ()
    assert seen.first_date == dt.date(1993, 9, 1)


def test_the_page_states_time_coverage_gaps_and_model_versions(relegated, tmp_path):
    now = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
    paths = write_report(relegated, "Marseille", out_dir=tmp_path, now=now)
    page = paths.html.read_text()
    assert "Generated 2026-12-02 09:30 UTC" in page
    assert "no match of Marseille in 1994-95, 1995-96" in page
    assert "Model version(s): v1993, v1996." in page
    assert "<th>model_version</th>" in page and "<th>result</th>" in page
    assert paths.png.stat().st_size > 10_000


def test_report_command_matches_the_team_in_any_case(relegated, tmp_path, capsys):
    assert main(["report", "--local", str(relegated), "--entity", "marseille",
                 "--out", str(tmp_path), "--format", "json"]) == 0
    assert '"entity": "Marseille"' in capsys.readouterr().out
    assert main(["report", "--local", str(relegated), "--entity", "marsielle",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no team 'marsielle' (known: Lyon, Marseille)" in err and len(err.splitlines()) == 1


def test_demo_prints_one_json_document_and_matches_the_team_in_any_case(relegated, tmp_path,
                                                                         monkeypatch, capsys):
    import json

    import lakeguard.cli.local as local
    from lakeguard.local.runtime import RunResult

    # GIVEN the embedded run replaced by its result (the e2e tests run the real one)
    (tmp_path / "1993-94_fr.1.csv").write_text("Date\n")
    done = [RunResult("1993-94_fr.1.csv", "matches/1993-94_fr.1.csv", "run", "SUCCEEDED",
                      "published", 4, 4, 1.5)]
    monkeypatch.setattr(local, "run_files", lambda *args, **kwargs: done)
    common = ["demo", "--data", str(tmp_path), "--out", str(relegated)]
    # WHEN the demo runs with a lower-case team and --format json
    assert main([*common, "--entity", "marseille", "--format", "json"]) == 0
    # THEN stdout is one JSON document, numbers as numbers
    shown = json.loads(capsys.readouterr().out)
    assert shown["entity"] == "Marseille" and shown["files"][0]["rows_in"] == 4
    assert shown["files"][0]["seconds"] == 1.5
    assert [a["result"] for a in shown["anomalies"]] == ["0-7", "0-7"]
    # and a team not in the data is named, with the way to write the report without a re-run
    assert main([*common, "--entity", "Nowhere FC"]) == 2
    err = capsys.readouterr().err
    assert "no team 'Nowhere FC' (known: Lyon, Marseille)" in err and "lakeguard report" in err
