"""Quarantine through its handler: the object kept, a report of why, staging dropped, ledger final."""

import json

import pytest

from lakeguard.aws import client
from lakeguard.exceptions import QualityGateFailed, ValidationFailed
from tests.functional.conftest import SEASON, Lake, event


def _caught(err: Exception) -> dict:
    """The ``$.error`` a Catch hands Quarantine when a Lambda task raised ``err``."""
    error = event("lambda_error")
    cause = json.loads(error["Cause"])
    cause.update(errorType=type(err).__name__, errorMessage=str(err))
    return {"Error": type(err).__name__, "Cause": json.dumps(cause)}


def _report(lake: Lake, key: str) -> dict:
    body = client("s3").get_object(Bucket=lake.settings.quarantine_bucket, Key=key)["Body"]
    document: dict = json.loads(body.read())
    return document


def test_an_object_refused_by_validate_is_kept_with_its_reason(lake: Lake):
    # GIVEN an empty season that Validate refused
    state = lake.drop("matches/2006-07.csv", b"")
    with pytest.raises(ValidationFailed) as raised:
        Lake.invoke("validate", state)
    state["error"] = _caught(raised.value)
    # WHEN Quarantine runs
    result = Lake.invoke("quarantine", state)
    # THEN the object and a report sit under the dataset and run, and the ledger is final
    prefix = f"matches/{state['run_id']}/"
    assert sorted(lake.keys("quarantine")) == [f"{prefix}2006-07.csv", f"{prefix}report.json"]
    assert result["failed_stage"] == "validation" and result["reason"] == "ValidationFailed"
    report = _report(lake, f"{prefix}report.json")
    assert report["reason"] == {"error": "ValidationFailed", "message": str(raised.value)}
    assert report["source"]["version_id"] == state["version_id"]
    entry = lake.ledger(state)
    assert entry.state == "quarantined"
    assert entry.reason is not None and entry.reason.startswith("ValidationFailed: ")
    assert entry.outputs == [f"quarantine/{prefix}2006-07.csv", f"quarantine/{prefix}report.json"]


def test_a_run_refused_by_the_quality_gate_leaves_no_staged_rows(lake: Lake):
    # GIVEN a season cleaned (rows staged) and then refused by the quality gate
    lines = SEASON.decode().splitlines()
    state = lake.drop("matches/2006-07.csv", "\n".join([*lines, lines[5]]).encode())
    state["validation"] = Lake.invoke("validate", state)
    state["clean"] = Lake.invoke("clean", state)
    assert lake.keys("clean", f"_staging/{state['run_id']}/")
    with pytest.raises(QualityGateFailed) as raised:
        Lake.invoke("quality", state)
    state["error"] = _caught(raised.value)
    # WHEN Quarantine runs
    result = Lake.invoke("quarantine", state)
    # THEN the failed stage is named, the staged rows are gone, nothing was reverted
    assert result["failed_stage"] == "quality" and result["reverted"] == {}
    assert lake.keys("clean") == []
    assert lake.ledger(state).state == "quarantined"


def test_an_unrouted_object_is_kept_under_unrouted(lake: Lake):
    state = lake.drop("misc/2006-07.csv", SEASON)
    state["error"] = {"Error": "RoutingError", "Cause": "no contract claims the key"}
    result = Lake.invoke("quarantine", state)
    assert result["reason"] == "RoutingError"
    assert sorted(lake.keys("quarantine")) == [f"unrouted/{state['run_id']}/2006-07.csv",
                                               f"unrouted/{state['run_id']}/report.json"]


def test_a_result_quarantine_cannot_parse_does_not_stop_it_keeping_the_object(lake: Lake):
    # GIVEN a run whose earlier results come from another deploy: an extra field in
    # $.validation and a $.model_check that is not even an object
    state = lake.drop("matches/2006-07.csv", SEASON)
    state["validation"] = {**Lake.invoke("validate", state), "added_later": 1}
    state["model_check"] = "not-an-object"
    state["error"] = _caught(RuntimeError("Score timed out"))
    # WHEN Quarantine runs
    result = Lake.invoke("quarantine", state)
    # THEN the object is kept under its dataset, the report names what it could not read,
    # and the ledger is final
    prefix = f"matches/{state['run_id']}/"
    assert sorted(lake.keys("quarantine")) == [f"{prefix}2006-07.csv", f"{prefix}report.json"]
    report = _report(lake, f"{prefix}report.json")
    unreadable = report["unreadable_results"]
    assert len(unreadable) == 2
    assert "$.validation" in unreadable[0] and "added_later" in unreadable[0]
    assert "$.model_check" in unreadable[1]
    assert result["reason"] == "RuntimeError"
    assert lake.ledger(state).state == "quarantined"
