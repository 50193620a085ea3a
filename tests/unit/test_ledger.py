"""The object ledger's state machine on DynamoDB (moto, in process) and the accounting."""

import boto3
import pytest
from moto import mock_aws

from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.ledger import (
    PROCESSING,
    PUBLISHED,
    QUARANTINED,
    Ledger,
    LedgerConflict,
    LedgerEntry,
)
from lakeguard.pipeline.ledger_check import check


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


def _entry(key, version, state, outputs=()):
    return LedgerEntry(bucket="raw", key=key, version_id=version, dataset="matches", size=1,
                       state=state, run_id="r", received_at="t", updated_at="t",
                       outputs=list(outputs))


def test_check_accepts_a_complete_accounting_and_names_each_gap():
    entries = [_entry("a.csv", "1", PUBLISHED, ["clean/a-0.parquet", "refined/t/a-0.parquet"]),
               _entry("b.csv", "1", QUARANTINED, ["quarantine/b/report.json"])]
    good = check(entries, [("a.csv", "1"), ("b.csv", "1")],
                 ["clean/a-0.parquet", "refined/t/a-0.parquet"])
    assert good.ok and good.published == 1 and good.quarantined == 1 and good.raw_versions == 2
    bad = check([*entries, _entry("c.csv", "1", PROCESSING)],
                [("a.csv", "1"), ("b.csv", "1"), ("c.csv", "1"), ("d.csv", "7")],
                ["clean/a-0.parquet", "clean/stray.parquet"])
    assert not bad.ok
    assert bad.unaccounted == ["d.csv (version 7)"]
    assert bad.unfinished == ["c.csv (version 1): processing"]
    assert bad.orphans == ["clean/stray.parquet"]
    assert any("orphan: clean/stray.parquet" in line for line in bad.lines())
