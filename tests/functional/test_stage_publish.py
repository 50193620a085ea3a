"""Publish through its handler: one Iceberg commit per table, the audit record, the ledger.

pyiceberg reads and writes table files with pyarrow's own S3 client, which moto's
in-process mock cannot intercept; these tests run moto as a server in a thread instead
(no Docker, no Java), one lake per test under its own names.
"""

import json
import logging
import socket
import uuid

import pytest

from lakeguard.aws import client
from lakeguard.contracts import load_contract
from lakeguard.layout import staging_prefix
from lakeguard.s3io import read_parquet, table_to_parquet_bytes
from lakeguard.tables import SOURCE_COLUMN, ensure_tables, names_of, read_table, run_tables
from lakeguard.transforms.refine import refine_table
from tests.functional.conftest import SEASON, Lake, deploy


@pytest.fixture(scope="module")
def server():
    """moto in server mode on a free port, for this module's tests."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield f"http://127.0.0.1:{port}"
    moto.stop()


@pytest.fixture
def lake(server, monkeypatch) -> Lake:
    """A lake of its own in the server: buckets, ledger, databases and the matches tables."""
    from moto import settings

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ENDPOINT_URL": server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    deployed = deploy(monkeypatch, suffix=f"-{uuid.uuid4().hex[:8]}")
    names = names_of(deployed.settings)
    for database in (names.clean_database, names.refined_database):
        client("glue").create_database(DatabaseInput={"Name": database})
    ensure_tables(tuple(run_tables(load_contract("matches"))), names)
    return deployed


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


def _through_quality(lake: Lake, key: str, body: bytes) -> dict:
    state = lake.drop(key, body)
    for stage, result in (("validate", "validation"), ("clean", "clean"),
                          ("quality", "quality")):
        state[result] = Lake.invoke(stage, state)
    _refined(lake, state)
    return state


def test_a_season_is_committed_recorded_and_its_hand_off_removed(lake: Lake):
    # GIVEN a season validated, cleaned, checked and refined (its rows staged)
    state = _through_quality(lake, "matches/2006-07.csv", SEASON)
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
    assert audit["rows"] == {"in": 380, "out": 380, "rejected": 0, "suppressed": 0}
    assert audit["snapshots"] == result["snapshots"]
    entry = lake.ledger(state)
    assert entry.state == "published" and entry.digest == state["clean"]["input_sha256"]
    assert sorted(entry.outputs) == sorted(f"{k}@{v}" for k, v in result["snapshots"].items())


def test_a_retried_publish_commits_nothing_new(lake: Lake):
    # GIVEN a published season
    state = _through_quality(lake, "matches/2006-07.csv", SEASON)
    first = Lake.invoke("publish", state)
    # WHEN the state machine retries the whole Publish (a time-out after the commits)
    second = Lake.invoke("publish", state)
    # THEN the snapshots are the same ones and the tables hold the rows once
    assert second["snapshots"] == first["snapshots"]
    assert read_table(lake.settings, "clean", "matches").num_rows == 380


def test_a_newer_version_replaces_the_rows_of_the_older(lake: Lake):
    # GIVEN a season published, then corrected by its producer (one match removed)
    older = _through_quality(lake, "matches/2006-07.csv", SEASON)
    Lake.invoke("publish", older)
    corrected = b"\n".join(SEASON.splitlines()[:-1])
    state = _through_quality(lake, "matches/2006-07.csv", corrected)
    # WHEN the newer version is published
    Lake.invoke("publish", state)
    # THEN the key's rows are the newer version's only
    clean = read_table(lake.settings, "clean", "matches")
    assert clean.num_rows == 379 and set(clean["run_id"].to_pylist()) == {state["run_id"]}
