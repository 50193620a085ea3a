"""The pipeline's state machine, written once in Python; ``pipeline.asl.json`` is its output.

The ASL file is what ships: ``cdk deploy`` substitutes its placeholders and the embedded
AWS runs it as-is. It is generated here so that what the tasks share is written once
(how a Lambda or Glue task retries, that every failure goes to Quarantine) and so that each
task's ``ResultPath`` is the path of the typed result its stage returns
(:mod:`lakeguard.pipeline.state`). ``make asl`` (``python -m statemachines.definition``)
writes the file; a test fails when the file and this definition differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lakeguard.pipeline.state import (
    Clean,
    CleanJobRun,
    GlueJobRun,
    ModelCheck,
    Publish,
    Quality,
    Quarantine,
    Refine,
    RefineJobRun,
    Score,
    StageResult,
    Train,
    Validation,
)

ASL_PATH = Path(__file__).resolve().parent / "pipeline.asl.json"

State = dict[str, Any]

#: Lambda's own throttling (a burst above the account's concurrency) waits it out; the
#: service's transient faults and the stages' TransientError (AWS throttled the stage)
#: are retried a few times. Anything else is the object's fault: Quarantine.
LAMBDA_RETRY: list[State] = [
    {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 2,
     "MaxAttempts": 12, "BackoffRate": 2.0, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"},
    {"ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException",
                     "Lambda.SdkClientException", "TransientError", "Sandbox.Timedout"],
     "IntervalSeconds": 1, "MaxAttempts": 4, "BackoffRate": 2.0, "MaxDelaySeconds": 30,
     "JitterStrategy": "FULL"},
]
#: A Glue job over its concurrent-runs limit waits its turn (up to hours); Glue's own
#: transient faults are retried a few times.
GLUE_RETRY: list[State] = [
    {"ErrorEquals": ["Glue.ConcurrentRunsExceededException"], "IntervalSeconds": 30,
     "MaxAttempts": 150, "BackoffRate": 2.0, "MaxDelaySeconds": 300, "JitterStrategy": "FULL"},
    {"ErrorEquals": ["Glue.ThrottlingException", "Glue.InternalServiceException",
                     "Glue.OperationTimeoutException"],
     "IntervalSeconds": 15, "MaxAttempts": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 300,
     "JitterStrategy": "FULL"},
]
SNS_RETRY: list[State] = [
    {"ErrorEquals": ["SNS.SdkClientException", "SNS.InternalErrorException",
                     "SNS.ThrottledException"],
     "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"},
]

#: Lambda task -> (stage, the result it returns). The stage's handler is
#: ``lambdas/<stage>.py``; its function's ARN is the ``${<Stage>FunctionArn}`` placeholder.
LAMBDA_TASKS: dict[str, tuple[str, type[StageResult]]] = {
    "Retrain": ("train", Train),
    "Validate": ("validate", Validation),
    "Clean": ("clean", Clean),
    "CleanReport": ("clean_report", Clean),
    "QualityGate": ("quality", Quality),
    "Refine": ("refine", Refine),
    "CheckModel": ("check_model", ModelCheck),
    "Train": ("train", Train),
    "Score": ("score", Score),
    "Publish": ("publish", Publish),
    "Quarantine": ("quarantine", Quarantine),
}


def function_placeholder(stage: str) -> str:
    """ASL placeholder of a stage function: ``check_model`` -> ``CheckModelFunctionArn``."""
    return "".join(part.title() for part in stage.split("_")) + "FunctionArn"


def _catch(to: str, path: str = "$.error") -> list[State]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": path, "Next": to}]


def _lambda(name: str, comment: str, then: str, on_error: str = "Quarantine",
            error_path: str = "$.error") -> State:
    stage, result = LAMBDA_TASKS[name]
    return {"Type": "Task", "Comment": comment,
            "Resource": f"${{{function_placeholder(stage)}}}", "ResultPath": f"$.{result.PATH}",
            "Retry": LAMBDA_RETRY, "Catch": _catch(on_error, error_path), "Next": then}


def _glue(comment: str, job: str, arguments: dict[str, str], result: type[GlueJobRun],
          then: str) -> State:
    return {"Type": "Task", "Comment": comment,
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {"JobName": f"${{{job}}}", "Arguments": arguments},
            "ResultSelector": {"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
            "ResultPath": f"$.{result.PATH}", "Retry": GLUE_RETRY, "Catch": _catch("Quarantine"),
            "Next": then}


def _notify(comment: str, subject: str, message: str, then: str) -> State:
    """Tell operators; a notification that cannot be sent does not change the outcome."""
    return {"Type": "Task", "Comment": comment, "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "${NotificationTopicArn}", "Subject": subject,
                           "Message.$": message},
            "ResultPath": None, "Retry": SNS_RETRY, "Catch": _catch(then, "$.notify_error"),
            "Next": then}


def _choice(comment: str, variable: str, test: dict[str, Any], then: str, default: str) -> State:
    return {"Type": "Choice", "Comment": comment,
            "Choices": [{"Variable": variable, **test, "Next": then}], "Default": default}


def definition() -> State:
    """The state machine: one raw object from validation to published anomalies."""
    v, c, m = Validation.PATH, Clean.PATH, ModelCheck.PATH
    states: State = {
        "Mode": _choice("The EventBridge Scheduler retrain schedule starts the machine with "
                        "{retrain, dataset} and no object.",
                        "$.retrain", {"IsPresent": True}, "Retrain", "Validate"),
        "Retrain": _lambda("Retrain", "Scheduled retraining: a challenger per registered entity "
                           "on all committed history; promoted only if it wins on held-out data.",
                           "Retrained", on_error="NotifyRetrainFailure"),
        "Retrained": {"Type": "Succeed", "Comment": "Challengers trained; champions moved only "
                      "where a challenger won."},
        "NotifyRetrainFailure": _notify(
            "Tell operators scheduled retraining failed (no object to quarantine; the current "
            "champions keep scoring).", "lakeguard: scheduled retraining failed",
            "States.Format('retraining {} failed: {}', $.dataset, $.error.Error)",
            "RetrainFailed"),
        "RetrainFailed": {"Type": "Fail",
                          "Comment": "Fails the execution so the failed-executions alarm fires.",
                          "Error": "RetrainFailed",
                          "Cause": "scheduled retraining failed; see the Retrain state's error"},
        "Validate": _lambda("Validate", "Route the object to its contract and check size and "
                            "header before any parsing.", "Route"),
        "Route": _choice("Objects above the Lambda size limit are anonymised by the Glue Spark "
                         "job.", f"$.{v}.route", {"StringEquals": "glue"}, "CleanLarge", "Clean"),
        "Clean": _lambda("Clean", "Parse, type and apply the contract's column policy; write "
                         "clean Parquet partitions.", "QualityGate"),
        "CleanLarge": _glue(
            "Anonymise a large object with the Glue Spark job (same functions as Clean, "
            "through mapInArrow).", "AnonymiseJobName",
            {"--dataset.$": f"$.{v}.dataset",
             "--input_uri.$": "States.Format('s3://{}/{}', $.bucket, $.key)",
             "--run_id.$": "$.run_id",
             "--output_uri.$": "States.Format('s3://${CleanBucket}/_staging/{}/', $.run_id)"},
            CleanJobRun, "CleanReport"),
        "CleanReport": _lambda("CleanReport", "Return the Glue anonymise job's report as the "
                               "Clean stage's result.", "QualityGate"),
        "QualityGate": _lambda("QualityGate", "Check the clean output against the contract's "
                               "quality rules.", "RouteRefine"),
        "RouteRefine": _choice("An object Clean handled in Lambda is refined in Lambda too: a "
                               "Glue run's start-up and one-minute minimum would dwarf it.",
                               f"$.{v}.route", {"StringEquals": "glue"}, "RefineLarge", "Refine"),
        "Refine": _lambda("Refine", "Derive the refined tables from the staged clean rows with "
                          "the Arrow transforms; stage them for Publish.", "HasModel"),
        "RefineLarge": _glue(
            "Derive the refined tables with the Glue Spark job, onto this run's branch of each "
            "Iceberg table (run_<run id>); Publish commits them to main.", "RefineJobName",
            {"--dataset.$": "$.dataset", "--inputs.$": f"States.JsonToString($.{c}.outputs)",
             "--run_id.$": "$.run_id"},
            RefineJobRun, "HasModel"),
        "HasModel": _choice("Only datasets whose contract declares a model are scored.",
                            f"$.{v}.has_model", {"BooleanEquals": True}, "CheckModel", "Publish"),
        "CheckModel": _lambda("CheckModel", "Per entity: no champion, or drift (PSI, alert rate) "
                              "of this run against the champion's training data? Publishes "
                              "InputPSI and AlertRate to CloudWatch.", "NeedsTraining"),
        "NeedsTraining": _choice("Train only when an entity has no model yet or its data "
                                 "changed.", f"$.{m}.needs_training", {"BooleanEquals": True},
                                 "Train", "Score"),
        "Train": _lambda("Train", "Fit a challenger per entity with no champion or with drift; "
                         "the first model of an entity is champion, a later one is promoted "
                         "only if it beats the champion on held-out data.", "Score"),
        "Score": _lambda("Score", "Score this object's points with the champion models into "
                         "staged anomalies.", "Publish"),
        "Publish": _lambda("Publish", "Commit the staged refined objects, register partitions "
                           "and write the run record.", "NotifySuccess"),
        "NotifySuccess": _notify(
            "Tell operators the object was published.", "lakeguard: object published",
            f"States.Format('published s3://{{}}/{{}} ({{}} rows into clean) as run {{}}', "
            f"$.bucket, $.key, $.{c}.rows_out, $.run_id)", "Published"),
        "Published": {"Type": "Succeed"},
        "Quarantine": _lambda("Quarantine", "Copy the raw object and a JSON report of the error "
                              "to quarantine; drop staged output.", "NotifyFailure",
                              on_error="NotifyFailure", error_path="$.quarantine_error"),
        "NotifyFailure": _notify(
            "Tell operators the object was quarantined, and why.",
            "lakeguard: object quarantined",
            "States.Format('quarantined s3://{}/{} in run {}: {}', $.bucket, $.key, $.run_id, "
            "$.error.Error)", "Quarantined"),
        "Quarantined": {"Type": "Fail", "Error": "ObjectQuarantined",
                        "Cause": "The object broke its contract or a stage failed; see the "
                                 "quarantine report."},
    }
    return {"Comment": "lakeguard pipeline: one raw object from validation to published "
                       "anomalies. Generated by statemachines/definition.py; deployed by "
                       "stacks/orchestration.py and run as-is on the embedded AWS.",
            "StartAt": "Mode", "States": states}


def render() -> str:
    """The ASL file's text."""
    return json.dumps(definition(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write ``pipeline.asl.json`` from the definition."""
    ASL_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {ASL_PATH}")


if __name__ == "__main__":
    main()
