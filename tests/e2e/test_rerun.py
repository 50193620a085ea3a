"""Redrive and reprocess on the embedded AWS, through the CLI as an operator runs them: a
version quarantined by a fault is re-run after the fault is gone and published, linked in
the ledger; an older version is never re-run over a newer one; a dry run changes nothing;
reprocess re-runs a dataset's current objects and the readers see the same rows."""

import datetime as dt
import json
import time

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.local.faults import fail
from lakeguard.pipeline.ledger import Ledger

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PREFIX = "matches/rerun/"
TEAMS = ("Rho", "Sigma")


def _season(goals, weeks=3, start=dt.date(2011, 8, 6)):
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for week in range(weeks):
        day = (start + dt.timedelta(days=7 * week)).strftime("%a %b %d %Y").replace(" 0", " ")
        lines.append(f"{day},{TEAMS[0]},{goals}-0,,{TEAMS[1]}")
    return ("\n".join(lines) + "\n").encode()


def _ledger(lake):
    return {(e.key, e.version_id): e for e in Ledger(lake.outputs["LedgerTableName"]).entries()}


def _json_out(capsys, argv):
    capsys.readouterr()
    code = main(argv)
    printed = capsys.readouterr()
    assert printed.out, printed.err  # what the command said instead of its result
    return code, json.loads(printed.out)


def _wait_for_new_runs(lake, keys_and_versions):
    """Wait for the executions the copies started (ingest starts them from S3's events)."""
    return [lake.wait_for_version(key, version) for key, version in keys_and_versions]


@pytest.fixture(scope="module")
def started():
    """When this module began dropping files: what it reprocesses (the session shares a lake)."""
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


@pytest.fixture(scope="module")
def quarantined(lake, started, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rerun")
    path = folder / "2011-12.csv"
    path.write_bytes(_season(1))
    with lake.inject(fail("publish", error=RuntimeError)):  # a defect, fixed afterwards
        result = lake.drop(path, PREFIX)
    assert result.outcome == "quarantined" and "RuntimeError" in result.reason
    return result


def test_a_dry_run_lists_the_version_and_changes_nothing(lake, quarantined, capsys):
    before = _ledger(lake)
    code, planned = _json_out(capsys, ["redrive", "--key", PREFIX, "--dry-run",
                                       "--format", "json"])
    assert code == 0
    assert [(p["key"], p["skipped"], p["new_version_id"]) for p in planned] == [
        (quarantined.key, None, None)]
    assert _ledger(lake) == before


def test_redrive_after_the_fix_publishes_and_links_the_versions(lake, quarantined, capsys):
    code, done = _json_out(capsys, ["redrive", "--key", PREFIX, "--reason", "runtimeerror",
                                    "--format", "json"])
    assert code == 0 and len(done) == 1 and done[0]["new_version_id"]
    (result,) = _wait_for_new_runs(lake, [(quarantined.key, done[0]["new_version_id"])])
    assert result.outcome == "published", result.reason
    ledger = _ledger(lake)
    old = next(e for (k, _), e in ledger.items() if k == quarantined.key and e.state == "quarantined")
    assert (old.rerun_as, old.rerun_why) == (done[0]["new_version_id"], "redrive")
    assert ledger[(quarantined.key, done[0]["new_version_id"])].state == "published"
    home = [r for r in lake.rows("clean", "matches").to_pylist() if r["home_team"] == TEAMS[0]]
    assert len(home) == 3
    assert main(["ledger", "check"]) == 0


def test_an_older_version_is_never_rerun_over_a_newer_one(lake, quarantined, capsys):
    # the quarantined version now has a newer (published) version of its key
    code, planned = _json_out(capsys, ["redrive", "--key", PREFIX, "--dry-run",
                                       "--format", "json"])
    assert code == 0 and planned and all(p["skipped"] for p in planned)
    assert "newer version" in planned[0]["skipped"]


def test_reprocess_reruns_the_current_version_and_readers_see_the_same_rows(lake, quarantined,
                                                                          started, capsys):
    before = sorted(r["home_goals"] for r in lake.rows("clean", "matches").to_pylist()
                    if r["home_team"] == TEAMS[0])
    code, done = _json_out(capsys, ["reprocess", "--dataset", "matches", "--since",
                                    started.isoformat(), "--format", "json"])
    assert code == 0
    ours = [d for d in done if d["key"] == quarantined.key]
    assert len(ours) == 1 and ours[0]["new_version_id"], done
    for result in _wait_for_new_runs(lake, [(d["key"], d["new_version_id"]) for d in done
                                            if d["new_version_id"]]):
        assert result.outcome == "published", result.reason
    after = sorted(r["home_goals"] for r in lake.rows("clean", "matches").to_pylist()
                   if r["home_team"] == TEAMS[0])
    assert after == before
    assert main(["ledger", "check"]) == 0
    raw = client("s3").list_object_versions(Bucket=lake.bucket("raw"), Prefix=quarantined.key)
    assert len(raw["Versions"]) == 3  # the drop, the redrive, the reprocess


def test_bad_filters_are_usage_errors(capsys):
    assert main(["reprocess", "--dataset", "matches", "--since", "last week"]) == 2
    assert "not an ISO date" in capsys.readouterr().err
    assert main(["redrive", "--dataset", "nope"]) == 2


def test_dead_letters_are_moved_back_and_their_object_runs(lake, tmp_path, capsys):
    from lakeguard.local.skipped import complete_skipped_resources

    # GIVEN an object whose event ingest gave up on: it sits in the dead-letter queue
    s3, raw = client("s3"), lake.bucket("raw")
    key = f"{PREFIX}2010-11.csv"
    s3.put_bucket_notification_configuration(Bucket=raw, NotificationConfiguration={})
    try:
        put = s3.put_object(Bucket=raw, Key=key, Body=_season(2, start=dt.date(2010, 8, 7)))
    finally:
        complete_skipped_resources(lake.stacks)
    event = {"version": "0", "detail-type": "Object Created", "source": "aws.s3",
             "time": dt.datetime.now(dt.UTC).isoformat(), "detail": {
                 "bucket": {"name": raw},
                 "object": {"key": key, "size": 120, "version-id": put["VersionId"],
                            "sequencer": f"{time.time_ns():016X}"}}}
    client("sqs").send_message(QueueUrl=lake.outputs["IngestDeadLetterQueueUrl"],
                               MessageBody=json.dumps(event))
    assert main(["redrive", "--dead-letters", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("1 dead letter(s) waiting")
    # WHEN the operator moves it back
    code, moved = _json_out(capsys, ["redrive", "--dead-letters", "--format", "json"])
    # THEN ingest starts its execution and the object is published
    assert code == 0 and moved == {"dead_letters": 1, "dry_run": False}
    assert lake.wait_for_version(key, put["VersionId"]).outcome == "published"
    assert main(["ledger", "check"]) == 0
