"""Publish through its handler: one Iceberg commit per table, the audit record, the ledger.

These tests run on :func:`tests.functional.conftest.table_lake` (moto as a server in a
thread), since pyiceberg's file IO goes around moto's in-process mock.
"""

import json

import pytest

from lakeguard.aws import client
from lakeguard.contracts import load_contract
from lakeguard.layout import staging_prefix
from lakeguard.s3io import read_parquet, table_to_parquet_bytes
from lakeguard.tables import SOURCE_COLUMN, read_table
from lakeguard.transforms.refine import refine_table
from tests.functional.conftest import SEASON, Lake


@pytest.fixture
def lake(table_lake: Lake) -> Lake:
    """Publish commits to the Iceberg tables: the lake with its tables, in a moto server."""
    return table_lake


def _refined(lake: Lake, state: dict) -> None:
    """What the Refine task stages: each refined table of the clean rows, by the Arrow
    function the Glue job runs in ``mapInArrow``."""
    contract = load_contract("matches")
    clean = read_parquet(state["clean"]["outputs"])
    for table in contract.refined:
        rows = refine_table(clean, table, contract)
        client("s3").put_object(
            Bucket=lake.settings.refined_bucket,
            Key=f"{staging_prefix(state['run_id'])}{table.table}/part-0.parquet",
            Body=table_to_parquet_bytes(rows))


def through_quality(lake: Lake, key: str, body: bytes) -> dict:
    state = lake.drop(key, body)
    for stage, result in (("validate", "validation"), ("clean", "clean"),
                          ("quality", "quality")):
        state[result] = Lake.invoke(stage, state)
    _refined(lake, state)
    return state


def test_a_season_is_committed_recorded_and_its_hand_off_removed(lake: Lake):
    # GIVEN a season validated, cleaned, checked and refined (its rows staged)
    state = through_quality(lake, "matches/2006-07.csv", SEASON)
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
    state = through_quality(lake, "matches/2006-07.csv", SEASON)
    first = Lake.invoke("publish", state)
    # WHEN the state machine retries the whole Publish (a time-out after the commits)
    second = Lake.invoke("publish", state)
    # THEN the snapshots are the same ones and the tables hold the rows once
    assert second["snapshots"] == first["snapshots"]
    assert read_table(lake.settings, "clean", "matches").num_rows == 380


def test_a_newer_version_replaces_the_rows_of_the_older(lake: Lake):
    # GIVEN a season published, then corrected by its producer (one match removed)
    older = through_quality(lake, "matches/2006-07.csv", SEASON)
    Lake.invoke("publish", older)
    corrected = b"\n".join(SEASON.splitlines()[:-1])
    state = through_quality(lake, "matches/2006-07.csv", corrected)
    # WHEN the newer version is published
    Lake.invoke("publish", state)
    # THEN the key's rows are the newer version's only
    clean = read_table(lake.settings, "clean", "matches")
    assert clean.num_rows == 379 and set(clean["run_id"].to_pylist()) == {state["run_id"]}
