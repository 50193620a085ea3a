"""Scheduled compaction on the embedded AWS, through the function and schedule `cdk deploy`
ships: six small files of one season become one data file per table partition, readers see
the same rows, the ledger proof still holds, and a later version of one of the keys still
replaces exactly its rows inside the compacted file."""

import datetime as dt
import json
from collections import Counter

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.config import Settings
from lakeguard.tables import load_table
from lakeguard.tables.maintenance import current_files

from .deployed import function_name

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PREFIX = "matches/compaction/"
START = dt.date(2017, 8, 5)
#: No other test publishes this season: the partition must hold this module's files alone
#: whatever ran before it on the worker (test_models publishes 2012-13), and it is from 2000
#: on, as test_pipeline asks of every other module (it reads the 1990s as its own).
SEASON = "2017-18"
TEAMS = ("Omicron", "Pi")


def _week(week, goals):
    when = START + dt.timedelta(days=7 * week)
    day = when.strftime("%a %b %d %Y").replace(" 0", " ")
    return f"Date,Team 1,FT,HT,Team 2\n{day},{TEAMS[0]},{goals}-1,,{TEAMS[1]}\n".encode()


def _season_files(lake):
    """Data files of the season's partition in the clean table and in team_matches."""
    settings = Settings.from_outputs(lake.outputs)
    found = {}
    for zone, table in (("clean", "matches"), ("refined", "team_matches")):
        files = current_files(load_table(settings, zone, table))
        found[table] = sorted(f for f in files if f"season={SEASON}" in f)
    return found


def _ours(lake):
    clean = [r for r in lake.rows("clean", "matches").to_pylist()
             if r["home_team"] in TEAMS]
    refined = [r for r in lake.rows("refined", "team_matches").to_pylist()
               if r["team"] in TEAMS]
    as_items = lambda rows: Counter(json.dumps(r, sort_keys=True, default=str) for r in rows)  # noqa: E731
    return as_items(clean), as_items(refined)


def _scheduled_compaction(lake):
    """Invoke the compaction function with the input its deployed schedule sends."""
    scheduler = client("scheduler")
    (name,) = [s["Name"] for s in scheduler.list_schedules()["Schedules"]
               if s["Name"].endswith("-compaction")]
    target = scheduler.get_schedule(Name=name)["Target"]
    assert target["Arn"].endswith(function_name(lake, "compact"))
    answer = client("lambda").invoke(FunctionName=target["Arn"], Payload=target["Input"])
    body = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    return body


@pytest.fixture(scope="module")
def compacted(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compaction")
    for week in range(6):
        path = folder / f"{SEASON}_week{week}.csv"
        path.write_bytes(_week(week, 2))
        assert lake.drop(path, PREFIX).outcome == "published"
    before_files, before_rows = _season_files(lake), _ours(lake)
    result = _scheduled_compaction(lake)
    return before_files, before_rows, result, folder


def test_six_small_files_of_one_season_become_one_per_table(lake, compacted):
    before, _, result, _ = compacted
    assert len(before["matches"]) == 6 and len(before["team_matches"]) == 6
    after = _season_files(lake)
    assert len(after["matches"]) == 1 and len(after["team_matches"]) == 1
    tables = {t["table"]: t for t in result["tables"]}
    assert tables["lakeguard_dev_clean.matches"]["files_before"] >= 6
    assert result["busy"] == []


def test_readers_see_the_same_rows_and_the_ledger_proof_holds(lake, compacted, capsys):
    _, rows, _, _ = compacted
    assert _ours(lake) == rows
    assert sum(rows[0].values()) == 6 and sum(rows[1].values()) == 12  # a row per team
    assert main(["ledger", "check", "--format", "json"]) == 0, capsys.readouterr().out


def test_a_later_version_replaces_its_rows_inside_the_compacted_file(lake, compacted, capsys):
    _, _, _, folder = compacted
    path = folder / f"{SEASON}_week3.csv"
    path.write_bytes(_week(3, 7))  # the producer corrects one score
    assert lake.drop(path, PREFIX).outcome == "published"
    clean = [r for r in lake.rows("clean", "matches").to_pylist()
             if r["home_team"] in TEAMS]
    assert sorted(r["home_goals"] for r in clean) == [2, 2, 2, 2, 2, 7]
    assert main(["ledger", "check", "--format", "json"]) == 0, capsys.readouterr().out


def test_compact_on_demand_reports_each_table_of_the_dataset(lake, compacted, capsys):
    capsys.readouterr()
    assert main(["compact", "--dataset", "matches", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {t["table"].split(".")[1] for t in result["tables"]} == {"matches", "team_matches"}
    assert result["busy"] == []
    assert main(["compact", "--dataset", "matches"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(": " in line for line in lines)
