"""A natural key's ``replace``: a later file's facts take the place of the ones another file
published, in the clean table and in every table derived from it, in Publish's commits."""

import dataclasses
import json

import pyarrow.compute as pc
import pytest

from lakeguard.aws import client
from lakeguard.contracts import load_contract
from lakeguard.pipeline import publish, quality
from lakeguard.pipeline.ledger import Ledger
from lakeguard.pipeline.ledger_check import TableState, check_tables
from lakeguard.tables import REFINED, RUN_COLUMN, SOURCE_COLUMN, load_table, read_table, run_tables
from tests.functional.conftest import (
    SEASON,
    Lake,
    model_stages,
    publish_crashing_after_clean_commit,
    through_refine,
)

HEADER, *MATCHES = SEASON.decode().splitlines()
FIRST = ("\n".join([HEADER, *MATCHES[:100]]) + "\n").encode()  # matches 1-100
REST = ("\n".join([HEADER, *MATCHES[50:]]) + "\n").encode()  # matches 51-380: 50 again


@pytest.fixture
def lake(served_lake: Lake, monkeypatch) -> Lake:
    """The matches contract with ``on_conflict = "replace"``, in a lake of its own."""
    shipped = load_contract("matches")
    assert shipped.natural_key is not None
    replacing = dataclasses.replace(shipped, natural_key=dataclasses.replace(
        shipped.natural_key, on_conflict="replace"))
    for module in (publish, quality):
        monkeypatch.setattr(module, "load_contract", lambda name: replacing)
    return served_lake


def _rows_by_run(zone: str, name: str, lake: Lake) -> dict[str, int]:
    rows = read_table(lake.settings, zone, name)
    return {run: int(pc.sum(pc.equal(rows[RUN_COLUMN], run)).as_py())
            for run in set(rows[RUN_COLUMN].to_pylist())}


def _published_twice(lake: Lake) -> tuple[dict, dict]:
    first = model_stages(through_refine(lake, "matches/first.csv", FIRST))
    Lake.invoke("publish", first)
    rest = model_stages(through_refine(lake, "matches/rest.csv", REST))
    return first, rest


def test_the_later_file_replaces_the_facts_the_earlier_published_everywhere(lake: Lake):
    # GIVEN matches 1-100 published from one file, and matches 51-380 from another
    first, rest = _published_twice(lake)
    # THEN the gate lets the 50 repeated matches through, to be replaced at Publish
    duplicates = rest["quality"]["duplicates"]
    assert duplicates["on_conflict"] == "replace" and duplicates["rows_replaced"] == 50
    assert rest["quality"]["rows"] == 330
    # WHEN the second file is published
    Lake.invoke("publish", rest)
    # THEN each match is in clean once: 50 from the first file, 330 from the second
    clean = read_table(lake.settings, "clean", "matches")
    assert clean.num_rows == 380
    assert len(set(zip(clean["date"].to_pylist(), clean["home_team"].to_pylist(),
                       strict=True))) == 380
    assert _rows_by_run("clean", "matches", lake) == {first["run_id"]: 50, rest["run_id"]: 330}
    # and the refined rows follow: the first file's derived again from its remaining matches
    assert _rows_by_run(REFINED, "team_matches", lake) == {first["run_id"]: 100,
                                                           rest["run_id"]: 660}
    # and each scored point once, the replaced ones scored by the later run
    points = read_table(lake.settings, REFINED, "anomalies")
    assert points.num_rows == len(set(zip(points["entity"].to_pylist(),
                                          points["ts"].to_pylist(), strict=True)))
    # and the ledger and the audit record say what the policy did
    entry = lake.ledger(rest)
    assert entry.state == "published"
    assert "natural key (date, home_team), on_conflict = replace: 50 row(s) replaced rows " \
           "published from source_key_id" in (entry.reason or "")
    audit = json.loads(client("s3").get_object(
        Bucket=lake.settings.artefacts_bucket,
        Key=f"audit/matches/{rest['run_id']}.json")["Body"].read())
    assert audit["rows"]["replaced"] == 50 and audit["rows"]["skipped"] == 0
    # and ledger check's table proof holds: every visible row is its key's newest run's
    states = {spec.key: TableState.of(load_table(lake.settings, spec.zone, spec.name))
              for spec in run_tables(load_contract("matches"))}
    assert check_tables(Ledger(lake.settings.ledger_table).entries(), states) == {
        "missing_snapshots": [], "wrong_rows": [], "quarantined_rows": [], "partial_commits": []}


def test_a_retried_publish_replaces_nothing_more(lake: Lake):
    first, rest = _published_twice(lake)
    Lake.invoke("publish", rest)
    # WHEN the state machine retries the whole Publish
    Lake.invoke("publish", rest)
    # THEN the rows are the same
    assert _rows_by_run("clean", "matches", lake) == {first["run_id"]: 50, rest["run_id"]: 330}
    assert _rows_by_run(REFINED, "team_matches", lake) == {first["run_id"]: 100,
                                                           rest["run_id"]: 660}


def test_a_publish_refused_after_its_clean_commit_gives_the_earlier_file_its_rows_back(
        lake: Lake, monkeypatch):
    # GIVEN the second file's Publish dies right after its clean commit
    first, rest = _published_twice(lake)
    publish_crashing_after_clean_commit(rest, monkeypatch)
    assert _rows_by_run("clean", "matches", lake) == {first["run_id"]: 50, rest["run_id"]: 330}
    # WHEN Quarantine reverts it
    result = Lake.invoke("quarantine", rest)
    # THEN the first file's 100 matches are back, with their refined rows untouched
    assert set(result["reverted"]) == {"clean/matches"}
    assert _rows_by_run("clean", "matches", lake) == {first["run_id"]: 100}
    assert len(set(read_table(lake.settings, "clean", "matches")[SOURCE_COLUMN].to_pylist())) == 1
    assert _rows_by_run(REFINED, "team_matches", lake) == {first["run_id"]: 200}
