"""Duplicates across raw objects on the embedded AWS: a season copied under another name, and
files that overlap, publish each match once (the matches contract's natural key)."""

import datetime as dt
import json

import pytest

from lakeguard.aws import client
from lakeguard.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PREFIX = "matches/across/"
START = dt.date(2015, 8, 1)


def _season(days, goals):
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for day in days:
        when = START + dt.timedelta(days=day)
        lines.append(f"{when.strftime('%a %b %d %Y').replace(' 0', ' ')},Epsilon,{goals}-0,,Zeta")
    return ("\n".join(lines) + "\n").encode()


def _epsilon_home_matches(lake):
    rows = lake.rows("clean", "matches").to_pylist()
    return sorted((r["date"], r["home_goals"]) for r in rows if r["home_team"] == "Epsilon")


def _team_rows(lake, team):
    return [r for r in lake.rows("refined", "team_matches").to_pylist()
            if r["team"] == team]


@pytest.fixture(scope="module")
def runs(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("across")
    files = {
        "original": _season(range(30), 1),
        "copy": _season(range(30), 1),  # byte for byte the original, under another name
        "overlap": _season(range(15, 45), 2),  # 15 matches already published, 15 new ones
        "repeat": _season(range(30), 3),  # only matches already published, other scores
    }
    results = {}
    for name, data in files.items():
        path = folder / f"2015-16_{name}.csv"
        path.write_bytes(data)
        results[name] = lake.drop(path, PREFIX)
    return results


def test_a_copy_under_another_key_is_quarantined_as_a_duplicate_upload(lake, runs):
    copy = runs["copy"]
    assert runs["original"].outcome == "published"
    assert copy.outcome == "quarantined"
    assert copy.reason.startswith("DuplicateUpload:"), copy.reason
    assert f"{PREFIX}2015-16_original.csv" in copy.reason and "not published twice" in copy.reason


def test_overlapping_files_publish_each_match_once(lake, runs):
    assert runs["overlap"].outcome == "published", runs["overlap"].reason
    matches = _epsilon_home_matches(lake)
    # 45 distinct matches: the first 30 as the original published them, 15 new from the overlap
    assert len(matches) == 45 and len({d for d, _ in matches}) == 45
    assert [g for _, g in matches] == [1] * 30 + [2] * 15
    # refined sees each match once from each side
    assert len(_team_rows(lake, "Epsilon")) == 45 and len(_team_rows(lake, "Zeta")) == 45


def test_the_ledger_and_the_audit_say_which_rows_were_left_out_and_why(lake, runs, capsys):
    assert main(["ledger", "--json"]) == 0
    entries = {e["key"]: e for e in json.loads(capsys.readouterr().out)
               if e["key"].startswith(PREFIX)}
    entry = entries[f"{PREFIX}2015-16_overlap.csv"]
    assert entry["state"] == "published"
    assert "natural key (date, home_team), on_conflict = skip: 15 row(s) left out" in entry["reason"]
    audit = json.loads(client("s3").get_object(
        Bucket=lake.bucket("artefacts"),
        Key=f"audit/matches/{runs['overlap'].run_id}.json")["Body"].read())
    assert audit["rows"]["skipped"] == 15 and audit["rows"]["out"] == 15
    assert audit["natural_key"]["on_conflict"] == "skip"


def test_a_file_with_nothing_new_is_quarantined_and_publishes_nothing(lake, runs):
    repeat = runs["repeat"]
    assert repeat.outcome == "quarantined"
    assert repeat.reason.startswith("NaturalKeyConflict:"), repeat.reason
    assert "nothing new to publish" in repeat.reason
    assert 3 not in {g for _, g in _epsilon_home_matches(lake)}
    assert main(["ledger", "check"]) == 0
