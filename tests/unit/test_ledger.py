"""The object ledger's state machine on DynamoDB (moto, in process) and the accounting."""

import boto3
import pytest
from moto import mock_aws

from lakeguard.layout import key_id
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.ledger import (
    PROCESSING,
    PUBLISHED,
    QUARANTINED,
    Ledger,
    LedgerConflict,
    LedgerEntry,
)
from lakeguard.pipeline.ledger_check import TableState, check


def _ref(key="matches/1996-97.csv", version="v1"):
    return ObjectRef(bucket="raw", key=key, version_id=version, size=10, dataset="matches",
                     run_id=f"run-{key}-{version}", received_at="2026-11-25T10:00:00Z")


@pytest.fixture
def ledger():
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        session.client("dynamodb").create_table(
            TableName="ledger", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "object", "KeyType": "HASH"},
                       {"AttributeName": "version_id", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "object", "AttributeType": "S"},
                                  {"AttributeName": "version_id", "AttributeType": "S"}])
        yield Ledger("ledger", session)


def test_a_version_is_received_once_and_moves_forward_to_published(ledger):
    ref = _ref()
    assert ledger.receive(ref) is True
    assert ledger.receive(ref) is False  # the same event delivered again
    ledger.advance(ref, PROCESSING)
    ledger.advance(ref, PUBLISHED, digest="abc", outputs=["clean/matches/x.parquet"])
    entry = ledger.get(ref)
    assert entry.state == PUBLISHED and entry.outputs == ["clean/matches/x.parquet"]
    assert entry.digest == "abc" and entry.dataset == "matches" and entry.size == 10
    ledger.advance(ref, PUBLISHED)  # a retried Publish: no-op


@pytest.mark.parametrize(("final", "then"), [(PUBLISHED, QUARANTINED), (QUARANTINED, PUBLISHED),
                                             (PUBLISHED, PROCESSING)])
def test_a_final_state_is_never_left(ledger, final, then):
    ref = _ref()
    ledger.receive(ref)
    ledger.advance(ref, final, reason="ValidationFailed: empty" if final == QUARANTINED else None)
    with pytest.raises(LedgerConflict, match=f"is {final}; it cannot become {then}"):
        ledger.advance(ref, then)
    assert ledger.get(ref).state == final


def test_versions_of_one_key_are_separate_entries(ledger):
    for version in ("v1", "v2"):
        ledger.receive(_ref(version=version))
    ledger.advance(_ref(version="v1"), QUARANTINED, reason="ValidationFailed: bad header")
    states = {e.version_id: e.state for e in ledger.entries()}
    assert states == {"v1": QUARANTINED, "v2": "received"}
    assert [e.reason for e in ledger.entries() if e.version_id == "v1"] == [
        "ValidationFailed: bad header"]


def _entry(key, version, state, outputs=(), run="r", sequencer=None):
    return LedgerEntry(bucket="raw", key=key, version_id=version, dataset="matches", size=1,
                       state=state, run_id=run, received_at="t", updated_at="t",
                       outputs=list(outputs), sequencer=sequencer)


def _table(runs, snapshots=(1,)):
    return TableState({s: {} for s in snapshots}, runs)


def test_check_accepts_a_complete_accounting_and_names_each_gap():
    entries = [_entry("a.csv", "1", PUBLISHED, ["clean/m@1"], run="ra"),
               _entry("b.csv", "1", QUARANTINED, ["quarantine/b/report.json"], run="rb")]
    good = check(entries, [("a.csv", "1"), ("b.csv", "1")],
                 {"clean/m": _table({key_id("a.csv"): {"ra": 3}})}, [])
    assert good.ok and good.published == 1 and good.quarantined == 1 and good.raw_versions == 2
    bad = check([*entries, _entry("c.csv", "1", PROCESSING)],
                [("a.csv", "1"), ("b.csv", "1"), ("c.csv", "1"), ("d.csv", "7")],
                {"clean/m": _table({key_id("a.csv"): {"ra": 3}})}, ["clean/_staging/r/x.parquet"])
    assert not bad.ok
    assert bad.unaccounted == ["d.csv (version 7)"]
    assert bad.unfinished == ["c.csv (version 1): processing"]
    assert bad.staging_leftovers == ["clean/_staging/r/x.parquet"]
    assert any("left in staging: clean/_staging/r/x.parquet" in line for line in bad.lines())


def test_check_names_a_missing_snapshot_and_rows_of_another_version():
    # GIVEN two published versions of a.csv: the newer one's rows must be the visible ones
    entries = [_entry("a.csv", "1", PUBLISHED, ["clean/m@1"], run="r1", sequencer="01"),
               _entry("a.csv", "2", PUBLISHED, ["clean/m@2"], run="r2", sequencer="02")]
    stale = check(entries, [("a.csv", "1"), ("a.csv", "2")],
                  {"clean/m": _table({key_id("a.csv"): {"r1": 3}}, snapshots=(1,))}, [])
    assert stale.missing_snapshots == ["clean/m@2 of a.csv (version 2, run r2)"]
    assert stale.wrong_rows == ["clean/m: 3 rows of run r1 for a.csv, whose newest published "
                                "version is run r2"]


def test_check_names_rows_of_a_quarantined_version_and_a_partial_commit():
    entries = [_entry("a.csv", "1", PUBLISHED, ["clean/m@1", "refined/t@2"], run="r1"),
               _entry("a.csv", "2", QUARANTINED, [], run="r2")]
    state = {"clean/m": TableState({1: {}, 3: {"lakeguard.run-id": "r2"}},
                                   {key_id("a.csv"): {"r2": 4}}),
             "refined/t": _table({key_id("a.csv"): {"r1": 4}}, snapshots=(2,))}
    result = check(entries, [("a.csv", "1"), ("a.csv", "2")], state, [])
    assert result.quarantined_rows == ["clean/m: 4 rows of a.csv (version 2, run r2)"]
    assert result.partial_commits[0].startswith(
        "a.csv (version 2, run r2) committed clean/m@3 but is quarantined")
    reverted = {**state, "clean/m": TableState(
        {1: {}, 3: {"lakeguard.run-id": "r2"}, 4: {"lakeguard.reverted-run-id": "r2"}},
        {key_id("a.csv"): {"r1": 4}})}
    assert check(entries, [("a.csv", "1"), ("a.csv", "2")], reverted, []).ok
