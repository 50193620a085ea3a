"""Model health as CloudWatch metrics: drift and alert rate per dataset and entity.

Published with ``PutMetricData`` rather than log-embedded metrics so that the embedded
AWS (moto's CloudWatch) holds the same figures a deployed account graphs and alarms on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from lakeguard.aws import client
from lakeguard.config import MODEL_METRICS_NAMESPACE
from lakeguard.ml.drift import DriftCheck

if TYPE_CHECKING:
    import boto3

#: PutMetricData accepts at most this many data points per call.
_BATCH = 1000


def publish_drift(dataset: str, checks: Mapping[str, DriftCheck],
                  session: boto3.session.Session | None = None) -> int:
    """Send InputPSI and AlertRate for each entity; return the number of data points."""
    data = [
        {"MetricName": name, "Value": value, "Unit": "None",
         "Dimensions": [{"Name": "Dataset", "Value": dataset}, {"Name": "Entity", "Value": entity}]}
        for entity, check in sorted(checks.items())
        for name, value in (("InputPSI", check.psi), ("AlertRate", check.alert_rate))
    ]
    cloudwatch = client("cloudwatch", session)
    for start in range(0, len(data), _BATCH):
        cloudwatch.put_metric_data(Namespace=MODEL_METRICS_NAMESPACE, MetricData=data[start:start + _BATCH])
    return len(data)
