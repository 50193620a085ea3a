"""The hostile-input corpus on the embedded AWS: every file published or quarantined as it
must be, for the reason it must be, and the ledger accounting for all of them.

A few files also take the Glue path (the Lambda size limit lowered to 1 KB, as an
operator would for large objects) and must end exactly as they do on the Lambda path.
"""

import json
import time
from pathlib import Path

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from tests.corpus.hostile import PUBLISHED, QUARANTINED, Hostile, everything

from .deployed import routed_to_glue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


CORPUS = everything()
#: Every execution finishes within this, however many run at once.
DEADLINE_SECONDS = 2400
#: Cases also run through the Glue anonymise job: files it must refuse as the Lambda path
#: does, by the same reason. (A file the Glue path publishes would leave Spark-written clean
#: Parquet without its partition column: refine then fails on matches and absenteeism, and
#: other tests read the absences clean objects as one table. Published verdicts of both
#: engines are compared in tests/spark/test_strict_parity.py.)
ON_GLUE = {("matches", "impossible_date"), ("matches", "mojibake"),
           ("absences", "cp1252_file"), ("absences", "unquoted_delimiter"),
           ("absenteeism", "number_out_of_bounds"), ("customers", "float_overflow")}


def _drop_all(lake, folder: Path, files: list[Hostile], prefix_extra: str = ""):
    submitted = []
    for hostile in files:
        key = hostile.key.replace("/hostile/", f"/hostile{prefix_extra}/", 1)
        prefix, name = key.rsplit("/", 1)
        path = folder / f"{hostile.dataset}-{hostile.case}{prefix_extra}" / name
        path.parent.mkdir(parents=True)
        path.write_bytes(hostile.data)
        submitted.append((hostile, lake.submit(path, prefix)))
    deadline = time.monotonic() + DEADLINE_SECONDS
    return {(h.dataset, h.case): (h, lake.wait(s, timeout=max(deadline - time.monotonic(), 60)))
            for h, s in submitted}


@pytest.fixture(scope="module")
def runs(lake, tmp_path_factory):
    # GIVEN every hostile file of every dataset, WHEN dropped into the raw bucket at once
    return _drop_all(lake, tmp_path_factory.mktemp("hostile"), CORPUS)


@pytest.fixture(scope="module")
def glue_runs(lake, runs, tmp_path_factory):
    with routed_to_glue():
        files = [h for h in CORPUS if (h.dataset, h.case) in ON_GLUE]
        return _drop_all(lake, tmp_path_factory.mktemp("hostile-glue"), files, "-glue")


def _clean_result(lake, run_id):
    arn = lake.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    output = client("stepfunctions").describe_execution(executionArn=f"{arn}:{run_id}")
    return json.loads(output.get("output") or "{}").get("clean", {})


def _check(lake, hostile: Hostile, result, glue: bool = False):
    assert result.outcome == hostile.outcome, result.reason
    if hostile.outcome == QUARANTINED:
        report = lake.quarantine_report(result.run_id)
        if not glue:  # a failed Glue job is named by Step Functions' Glue error
            assert report["reason"]["error"] == "ValidationFailed", report["reason"]
        assert hostile.words in report["reason"]["message"], report["reason"]["message"]
        assert report["source"]["key"] == result.key
        return
    assert (result.rows_rejected, result.rows_warned) == (hostile.rejected, hostile.warned)
    clean = _clean_result(lake, result.run_id)
    rules = [r["rule"] for r in clean["rejects"] + clean["warnings"]]
    assert rules == ([hostile.rule] if hostile.rule else [])
    assert all(r["row"] in (6, None) for r in clean["rejects"] + clean["warnings"])


@pytest.mark.parametrize("hostile", CORPUS, ids=lambda h: f"{h.dataset}-{h.case}")
def test_each_hostile_file_ends_as_it_must(lake, runs, hostile):
    _, result = runs[(hostile.dataset, hostile.case)]
    _check(lake, hostile, result)


@pytest.mark.parametrize("case", sorted(ON_GLUE), ids=lambda c: f"{c[0]}-{c[1]}")
def test_the_glue_path_ends_each_file_as_the_lambda_path(lake, glue_runs, case):
    hostile, result = glue_runs[case]
    arn = lake.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    events = client("stepfunctions").get_execution_history(
        executionArn=f"{arn}:{result.run_id}", maxResults=1000)["events"]
    entered = {e["stateEnteredEventDetails"]["name"] for e in events
               if "stateEnteredEventDetails" in e}
    if "Route" in entered and hostile.outcome == PUBLISHED:
        assert "CleanLarge" in entered and "Clean" not in entered
    _check(lake, hostile, result, glue=True)


def test_keys_with_plus_percent_spaces_and_accents_are_processed_as_written(lake, runs):
    s3 = client("s3")
    for (_, case), (hostile, result) in runs.items():
        if case.startswith("key_"):
            assert result.key == hostile.key
            s3.head_object(Bucket=lake.bucket("raw"), Key=hostile.key)
            assert hostile.outcome == QUARANTINED or result.rows_out, result.reason


def test_the_ledger_accounts_for_every_hostile_file(runs, glue_runs, capsys):
    assert main(["ledger", "--json"]) == 0
    entries = {e["key"]: e for e in json.loads(capsys.readouterr().out)}
    for hostile, result in [*runs.values(), *glue_runs.values()]:
        entry = entries[result.key]
        assert entry["state"] == hostile.outcome, result.key
        if hostile.outcome == QUARANTINED:
            assert hostile.words in entry["reason"]
    assert main(["ledger", "check"]) == 0
