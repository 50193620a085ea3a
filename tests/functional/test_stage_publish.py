"""Publish through its handler: one Iceberg commit per table, the audit record, the ledger.

pyiceberg reads and writes table files with pyarrow's own S3 client, which moto's
in-process mock cannot intercept; these tests run on moto as a server in a thread instead
(``served_lake`` in conftest: no Docker, no Java), one lake per test under its own names.
"""

import json

import pytest

from lakeguard.aws import client
from lakeguard.pipeline.ledger_check import branch_leftovers
from lakeguard.tables import REFINED, SOURCE_COLUMN, load_table, read_table
from lakeguard.tables.branches import branch_files, run_branches
from tests.functional.conftest import (
    SEASON,
    Lake,
    model_stages,
    publish_crashing_after_clean_commit,
    through_refine,
)


def _exists(uri: str) -> bool:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bool(client("s3").list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


@pytest.fixture
def lake(served_lake: Lake) -> Lake:
    """This module's stages commit to Iceberg: the lake of a moto server (see conftest)."""
    return served_lake


@pytest.mark.parametrize("engine", ["lambda", "glue"])
def test_a_season_is_committed_recorded_and_its_hand_off_removed(lake: Lake, engine: str):
    # GIVEN a season validated, cleaned, checked and refined, by the Lambda stage (rows
    # staged as Parquet) or by the Glue job (rows on the run's branch)
    state = through_refine(lake, "matches/2006-07.csv", SEASON, engine)
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
    assert not run_branches(load_table(lake.settings, REFINED, "team_matches"))
    # and the hand-off is gone, the audit record written, the ledger final with the snapshots
    assert [k for k in lake.keys("clean") + lake.keys("refined")
            if k.startswith("_staging/")] == []
    body = client("s3").get_object(Bucket=lake.settings.artefacts_bucket,
                                   Key=f"audit/matches/{state['run_id']}.json")["Body"]
    audit = json.loads(body.read())
    assert audit["rows"] == {"in": 380, "out": 380, "rejected": 0, "suppressed": 0,
                             "skipped": 0, "replaced": 0}
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
    assert read_table(lake.settings, REFINED, "team_matches").num_rows == 760


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


@pytest.mark.parametrize("engine", ["lambda", "glue"])
def test_a_publish_that_crashed_after_its_clean_commit_is_reverted_by_quarantine(
        lake: Lake, monkeypatch, engine: str):
    # GIVEN a season through its model stages, and a Publish that dies right after its
    # clean commit (a time-out, say), as ``seams`` lets a test plan
    state = model_stages(through_refine(lake, "matches/2006-07.csv", SEASON, engine))
    handed = (branch_files(load_table(lake.settings, REFINED, "team_matches"), state["run_id"])
              if engine == "glue" else state["refine"]["outputs"])
    publish_crashing_after_clean_commit(state, monkeypatch)
    assert read_table(lake.settings, "clean", "matches").num_rows == 380  # half done
    # WHEN the Catch hands the error to Quarantine
    result = Lake.invoke("quarantine", state)
    # THEN the clean commit is reverted: no reader sees the refused run's rows
    assert result["failed_stage"] == "publish"
    assert set(result["reverted"]) == {"clean/matches"}
    assert read_table(lake.settings, "clean", "matches").num_rows == 0
    assert lake.ledger(state).state == "quarantined"
    # and Refine's hand-off (the Glue job's branch of each refined table, or the Lambda
    # stage's staged objects) is dropped, its files with it
    assert run_branches(load_table(lake.settings, REFINED, "team_matches")) == []
    assert handed and not any(_exists(path) for path in handed)


def test_the_refine_hand_off_is_invisible_until_publish_commits_it_and_drops_the_branch(
        lake: Lake):
    # GIVEN a season refined by the Glue job: its rows are on the run's branch of each
    # refined table
    state = through_refine(lake, "matches/2006-07.csv", SEASON, "glue")
    table = load_table(lake.settings, REFINED, "team_matches")
    assert run_branches(table) == [state["run_id"]]
    assert read_table(lake.settings, REFINED, "team_matches").num_rows == 0  # main: nothing
    assert branch_leftovers({"refined/team_matches": table}) == [  # what ledger check names
        f"refined/team_matches@run_{state['run_id']}"]
    handed = branch_files(table, state["run_id"])
    assert handed and all(_exists(path) for path in handed)
    # WHEN Publish runs
    result = Lake.invoke("publish", state)
    # THEN main holds the rows, in the snapshot that also dropped the branch
    table = load_table(lake.settings, REFINED, "team_matches")
    assert read_table(lake.settings, REFINED, "team_matches").num_rows == 760
    assert run_branches(table) == []
    committed = table.metadata.snapshot_by_id(int(result["snapshots"]["refined/team_matches"]))
    assert committed is not None and committed.snapshot_id == table.metadata.current_snapshot_id
    assert branch_leftovers({"refined/team_matches": table}) == []
    # and the branch's files (rows before Publish's checks) are gone from S3, not orphaned
    assert not any(_exists(path) for path in handed)


def test_a_commit_on_main_after_a_branch_commit_is_a_lost_race_that_retries(lake: Lake):
    from tests.functional.conftest import hand_over

    # GIVEN a table handle loaded before another run's job wrote its branch (which moves
    # the table's last sequence number, not main)
    older = through_refine(lake, "matches/2006-07.csv", SEASON, "glue")
    stale = load_table(lake.settings, REFINED, "team_matches")
    other = lake.drop("matches/2007-08.csv", SEASON)
    hand_over(lake, other, REFINED, "team_matches", read_table(lake.settings, REFINED,
                                                               "team_matches").slice(0, 0))
    # WHEN a commit to main is made from the stale handle
    # THEN it is a lost race, retried on fresh metadata (pyiceberg's own ValueError about
    # the sequence number would have failed it), and it lands
    before = len(load_table(lake.settings, REFINED, "team_matches").metadata.snapshots)
    stale.append(stale.schema().as_arrow().empty_table())
    assert len(load_table(lake.settings, REFINED, "team_matches").metadata.snapshots) > before
    # and Publish, which retries on a fresh load, commits the older run all the same
    assert Lake.invoke("publish", older)["snapshots"]["refined/team_matches"]


def test_an_orphan_sweep_removes_every_version_of_a_dropped_branchs_files(lake: Lake):
    from lakeguard.tables.maintenance import purge

    # GIVEN a versioned refined bucket, as deployed, and a season published from its branch
    client("s3").put_bucket_versioning(Bucket=lake.settings.refined_bucket,
                                       VersioningConfiguration={"Status": "Enabled"})
    state = through_refine(lake, "matches/2006-07.csv", SEASON, "glue")
    handed = branch_files(load_table(lake.settings, REFINED, "team_matches"), state["run_id"])
    Lake.invoke("publish", state)
    keys = {uri.removeprefix(f"s3://{lake.settings.refined_bucket}/") for uri in handed}

    def versions() -> list[str]:
        listed = client("s3").list_object_versions(Bucket=lake.settings.refined_bucket,
                                                   Prefix="team_matches/")
        return [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
                if v["Key"] in keys]

    assert versions()  # deleted by Publish, kept as noncurrent versions by the bucket
    # WHEN erasure's sweep runs (snapshots expired, then orphans), minutes after the commit
    purge(load_table(lake.settings, REFINED, "team_matches"), set())
    # THEN no version of them is left, though they are younger than the safety age
    assert versions() == []
