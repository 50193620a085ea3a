"""Ingest through its Lambda handler: an SQS batch of S3 events becomes executions.

GIVEN / WHEN / THEN over moto in process, from the event fixtures in ``events/``.
"""

import json

from lakeguard import config
from lakeguard.aws import client
from tests.functional.conftest import SEASON, Lake, event


def _state_machine(monkeypatch) -> str:
    arn = client("stepfunctions").create_state_machine(
        name="lg-pipeline", roleArn="arn:aws:iam::123456789012:role/lg-pipeline",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    monkeypatch.setenv(config.ENV_STATE_MACHINE_ARN, arn)
    return arn


def _batch(*bodies: dict) -> dict:
    batch = event("sqs_batch")
    (template,) = batch["Records"]
    batch["Records"] = [{**template, "messageId": f"m-{i}", "body": json.dumps(body)}
                        for i, body in enumerate(bodies)]
    return batch


def test_an_object_starts_one_execution_and_a_redelivery_none(lake: Lake, monkeypatch):
    # GIVEN a season in the raw bucket and its Object Created event, delivered by SQS
    arn = _state_machine(monkeypatch)
    version = client("s3").put_object(Bucket=lake.settings.raw_bucket,
                                      Key="matches/2006-07.csv", Body=SEASON)["VersionId"]
    created = lake.object_created("matches/2006-07.csv", version, len(SEASON))
    # WHEN the ingest function gets the batch, twice (SQS delivers at least once)
    first = Lake.invoke("ingest", _batch(created))
    second = Lake.invoke("ingest", _batch(created))
    # THEN one execution runs, named from the object version, and the ledger holds it
    assert first == second == {"batchItemFailures": []}
    (execution,) = client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert execution["name"].startswith("matches-")
    entry = lake.ledger({"bucket": lake.settings.raw_bucket, "key": "matches/2006-07.csv",
                         "version_id": version, "run_id": execution["name"]})
    assert (entry.state, entry.dataset, entry.size) == ("received", "matches", len(SEASON))
    assert entry.execution_arn == execution["executionArn"]


def test_a_bad_record_alone_goes_back_to_the_queue(lake: Lake, monkeypatch):
    # GIVEN a batch of one good event and one body that is not an S3 event
    _state_machine(monkeypatch)
    version = client("s3").put_object(Bucket=lake.settings.raw_bucket,
                                      Key="matches/2007-08.csv", Body=SEASON)["VersionId"]
    good = lake.object_created("matches/2007-08.csv", version, len(SEASON))
    # WHEN it is ingested
    result = Lake.invoke("ingest", _batch(good, {"detail": {}}))
    # THEN only the bad record is reported for redelivery
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
