"""Publish through its handler: one Iceberg commit per table, the audit record, the ledger.

pyiceberg reads and writes table files with pyarrow's own S3 client, which moto's
in-process mock cannot intercept; these tests run on moto as a server in a thread instead
(``served_lake`` in conftest: no Docker, no Java), one lake per test under its own names.
"""

import json

import pytest

from lakeguard.aws import client
from lakeguard.pipeline import seams
from lakeguard.tables import SOURCE_COLUMN, read_table
from tests.functional.conftest import SEASON, Lake, model_stages, through_refine


@pytest.fixture
def lake(served_lake: Lake) -> Lake:
    """This module's stages commit to Iceberg: the lake of a moto server (see conftest)."""
    return served_lake


def test_a_season_is_committed_recorded_and_its_hand_off_removed(lake: Lake):
    # GIVEN a season validated, cleaned, checked and refined (its rows staged)
    state = through_refine(lake, "matches/2006-07.csv", SEASON)
    # WHEN Publish runs
    result = Lake.invoke("publish", state)
    # THEN each table of the contract has one snapshot of the run's rows
    assert set(result["snapshots"]) == {"clean/matches", "refined/team_matches",
                                        "refined/anomalies"}
    clean = read_table(lake.settings, "clean", "matches")
    assert clean.num_rows == 380
    assert set(clean["run_id"].to_pylist()) == {state["run_id"]}
    assert len(set(clean[SOURCE_COLUMN].to_pylist())) == 1
    assert read_table(lake.settings, "refined", "team_matches").num_rows == 760  # both sides
    # and the hand-off is gone, the audit record written, the ledger final with the snapshots
    assert [k for k in lake.keys("clean") + lake.keys("refined")
            if k.startswith("_staging/")] == []
    body = client("s3").get_object(Bucket=lake.settings.artefacts_bucket,
                                   Key=f"audit/matches/{state['run_id']}.json")["Body"]
    audit = json.loads(body.read())
    assert audit["rows"] == {"in": 380, "out": 380, "rejected": 0, "suppressed": 0,
                             "skipped": 0}
    assert audit["snapshots"] == result["snapshots"]
    entry = lake.ledger(state)
    assert entry.state == "published" and entry.digest == state["clean"]["input_sha256"]
    assert sorted(entry.outputs) == sorted(f"{k}@{v}" for k, v in result["snapshots"].items())


def test_a_retried_publish_commits_nothing_new(lake: Lake):
    # GIVEN a published season
    state = through_refine(lake, "matches/2006-07.csv", SEASON)
    first = Lake.invoke("publish", state)
    # WHEN the state machine retries the whole Publish (a time-out after the commits)
    second = Lake.invoke("publish", state)
    # THEN the snapshots are the same ones and the tables hold the rows once
    assert second["snapshots"] == first["snapshots"]
    assert read_table(lake.settings, "clean", "matches").num_rows == 380


def test_a_newer_version_replaces_the_rows_of_the_older(lake: Lake):
    # GIVEN a season published, then corrected by its producer (one match removed)
    older = through_refine(lake, "matches/2006-07.csv", SEASON)
    Lake.invoke("publish", older)
    corrected = b"\n".join(SEASON.splitlines()[:-1])
    state = through_refine(lake, "matches/2006-07.csv", corrected)
    # WHEN the newer version is published
    Lake.invoke("publish", state)
    # THEN the key's rows are the newer version's only
    clean = read_table(lake.settings, "clean", "matches")
    assert clean.num_rows == 379 and set(clean["run_id"].to_pylist()) == {state["run_id"]}


def test_a_publish_that_crashed_after_its_clean_commit_is_reverted_by_quarantine(
        lake: Lake, monkeypatch):
    # GIVEN a season through its model stages, and a Publish that dies right after its
    # clean commit (a time-out, say), as ``seams`` lets a test plan
    state = model_stages(through_refine(lake, "matches/2006-07.csv", SEASON))

    def crash(name: str, run_id: str) -> None:
        if name == "commit:clean/matches:done":
            raise RuntimeError(f"crashed at {name}")

    monkeypatch.setattr(seams, "HOOKS", [crash])
    with pytest.raises(RuntimeError) as raised:
        Lake.invoke("publish", state)
    assert read_table(lake.settings, "clean", "matches").num_rows == 380  # half done
    # WHEN the Catch hands the error to Quarantine
    state["error"] = {"Error": "RuntimeError", "Cause": json.dumps(
        {"errorType": "RuntimeError", "errorMessage": str(raised.value)})}
    result = Lake.invoke("quarantine", state)
    # THEN the clean commit is reverted: no reader sees the refused run's rows
    assert result["failed_stage"] == "publish"
    assert set(result["reverted"]) == {"clean/matches"}
    assert read_table(lake.settings, "clean", "matches").num_rows == 0
    assert lake.ledger(state).state == "quarantined"
