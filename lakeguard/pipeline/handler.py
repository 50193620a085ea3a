"""Adapt a pipeline stage into a Lambda handler: settings, logs, metrics, traces, error names.

Exceptions propagate unchanged, except AWS throttling and time-outs, which become
``TransientError``: Lambda reports the class name as ``errorType``, which is what the state
machine's Retry (transient) and Catch (everything else: quarantine) match on. Logs,
metrics and traces carry counts and names, never a data value: traces do not capture
responses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from lakeguard.config import PIPELINE_METRICS_NAMESPACE, Settings
from lakeguard.exceptions import TransientError
from lakeguard.logs import log_stream
from lakeguard.pipeline.state import StageResult

#: A pipeline stage returns its typed result; the scheduled compaction, a plain report.
Stage = Callable[[dict[str, Any], Settings], StageResult | dict[str, Any]]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

SERVICE = "lakeguard"
#: Stage result counts published as CloudWatch metrics (EMF), by metric name.
COUNT_METRICS = {"rows_in": "RowsIn", "rows_out": "RowsOut", "rows_rejected": "RowsRejected",
                 "rows_suppressed": "RowsSuppressed", "rows_warned": "RowsWarned",
                 "anomalies": "Anomalies"}
#: AWS error codes that a later retry can succeed on (after boto3's own retries).
TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "SlowDown", "RequestTimeout",
    "RequestLimitExceeded", "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "InternalError", "InternalServerError", "ServiceUnavailable",
})
#: One-per-object outcomes: the quarantine alarm watches ObjectsQuarantined.
OUTCOME_METRICS = {"publish": "ObjectsPublished", "quarantine": "ObjectsQuarantined"}

#: Libraries X-Ray patches: every network call the stages make goes through botocore (and
#: http.client under it). Powertools' default patches every library X-Ray supports, which
#: imports requests, sqlite3, pynamodb... at cold start only to wrap them; the stages never
#: call them, so the traces are the same (bench/cold_start.py measures the difference).
TRACED_MODULES = ("botocore", "httplib")

logger = Logger(service=SERVICE, stream=log_stream())
metrics = Metrics(namespace=PIPELINE_METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


def publish_metrics(stage: str, result: dict[str, Any]) -> None:
    """Emit the stage's counts and outcome as one EMF document on stdout.

    The buffer is cleared explicitly: Powertools keeps it when metrics are disabled
    (offline runs), so a warm process would otherwise grow it on every invocation.
    """
    for field, name in COUNT_METRICS.items():
        value = result.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if stage in OUTCOME_METRICS:
        metrics.add_metric(name=OUTCOME_METRICS[stage], unit=MetricUnit.Count, value=1)
    try:
        if metrics.metric_set:
            metrics.flush_metrics()
    finally:
        metrics.clear_metrics()


def stage_handler(stage: Stage) -> Handler:
    """Wrap ``stage`` so it runs with the function's settings, structured logs and metrics."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.append_keys(run_id=event.get("run_id"), stage=stage.__name__,
                           dataset=event.get("dataset"))
        try:
            returned = stage(event, Settings.from_env())
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            logger.warning("stage failed", extra={"error_type": code})
            if code in TRANSIENT_CODES:
                raise TransientError(f"{stage.__name__}: AWS answered {code}; retrying") from err
            raise
        except Exception as err:
            logger.warning("stage failed", extra={"error_type": type(err).__name__})
            raise
        result = returned.to_json() if isinstance(returned, StageResult) else returned
        publish_metrics(stage.__name__, result)
        logger.info("stage done", extra={k: v for k, v in result.items()
                                          if isinstance(v, int | bool)})
        return result

    handler.__doc__ = f"Lambda entry point of the {stage.__name__} stage."
    traced: Handler = tracer.capture_lambda_handler(handler, capture_response=False)
    return traced
