"""Faults injected into each stage on the embedded AWS (``LocalLake.inject``): transient ones
are retried until the run succeeds; permanent ones fail the execution visibly, quarantine
the object with the failing stage, leave no staged output and mark the ledger."""

import datetime as dt
import json

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.local.faults import fail, glue_busy, time_out

from .deployed import routed_to_glue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Handler stage -> the name the quarantine report gives it.
STAGES = {"validate": "validation", "clean": "clean", "quality": "quality", "refine": "refine",
          "check_model": "model_check", "train": "train", "score": "score", "publish": "publish"}


def _season(path, team):
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for i in range(30):
        day = dt.date(2014, 8, 1) + dt.timedelta(days=i)
        lines.append(f"{day.strftime('%a %b %d %Y').replace(' 0', ' ')},{team}A,{i % 3}-1,,{team}B")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("stage", "fault"), [
    ("validate", fail), ("clean", fail), ("refine", fail), ("score", fail),  # throttled
    ("publish", fail),
    ("clean", time_out), ("train", time_out),  # a Lambda timeout (Sandbox.Timedout)
])
def test_a_transient_fault_is_retried_and_the_run_succeeds(lake, tmp_path, stage, fault):
    name = f"transient_{stage}_{fault.__name__}"
    path = _season(tmp_path / f"{name}_fr.1.csv", name.title().replace("_", ""))
    with lake.inject(fault(stage, times=2)):  # twice, then the real stage
        result = lake.drop(path, "matches/faults/")
    assert result.outcome == "published", result.reason
    history = client("stepfunctions").get_execution_history(
        executionArn=result_arn(lake, result.run_id), maxResults=1000)["events"]
    assert sum(e["type"] == "LambdaFunctionFailed" for e in history) == 2


def result_arn(lake, run):
    machine = lake.outputs["StateMachineArn"]
    return f"{machine.replace(':stateMachine:', ':execution:')}:{run}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_permanent_fault_quarantines_the_object_and_leaves_nothing_behind(lake, tmp_path,
                                                                            stage, capsys):
    path = _season(tmp_path / f"permanent_{stage}_fr.1.csv", f"Permanent{stage.title()}")
    with lake.inject(fail(stage, error=RuntimeError)):
        result = lake.drop(path, "matches/faults/")
    assert result.status == "FAILED" and result.outcome == "quarantined"
    report = lake.quarantine_report(result.run_id)
    assert report["failed_stage"] == STAGES[stage]
    assert report["reason"] == {"error": "RuntimeError", "message": f"injected fault in {stage}"}
    s3 = client("s3")
    for zone in ("clean", "refined"):
        staged = s3.list_objects_v2(Bucket=lake.bucket(zone),
                                    Prefix=f"_staging/{result.run_id}/").get("KeyCount", 0)
        assert staged == 0
    history = client("stepfunctions").get_execution_history(
        executionArn=result_arn(lake, result.run_id), maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history
               if "stateEnteredEventDetails" in e]
    assert entered[-3:] == ["Quarantine", "NotifyFailure", "Quarantined"]
    assert main(["ledger", "--json", "--state", "quarantined"]) == 0
    keys = {e["key"] for e in json.loads(capsys.readouterr().out)}
    assert f"matches/faults/{path.name}" in keys


def test_glue_at_its_concurrent_run_cap_is_waited_out(lake, tmp_path):
    # an object routed to Glue (above the size limit an operator lowered) meets the refine
    # job at its concurrent-run cap once
    path = _season(tmp_path / "glue_busy_fr.1.csv", "GlueBusy")
    with routed_to_glue(), lake.refuse_glue_runs(glue_busy("refine", times=1)):
        result = lake.drop(path, "matches/faults/")
    assert result.outcome == "published", result.reason
    history = client("stepfunctions").get_execution_history(
        executionArn=result_arn(lake, result.run_id), maxResults=1000)["events"]
    failed = [e for e in history if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == [
        "Glue.ConcurrentRunsExceededException"]
    entered = {e["stateEnteredEventDetails"]["name"] for e in history
               if "stateEnteredEventDetails" in e}
    assert {"CleanLarge", "RefineLarge"} <= entered and "Refine" not in entered
