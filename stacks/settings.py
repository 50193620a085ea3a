"""Per-environment settings, read once from ``cdk.json`` (context ``lakeguard:environments``).

``cdk synth -c env=prod`` selects the environment; ``python app.py`` alone reads cdk.json
itself (the CLI is what normally passes it), so both give the same templates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = PROJECT_ROOT / "cdk.json"
CONTEXT_KEY = "lakeguard:environments"


_RETENTIONS = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS, 7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS, 1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


class SettingsError(ValueError):
    """cdk.json does not describe the selected environment correctly."""


@dataclass(frozen=True)
class EnvironmentSettings:
    """What differs between dev and prod."""

    env: str
    name_prefix: str
    removal_policy: str
    log_retention_days: int
    noncurrent_version_days: int
    athena_results_days: int
    athena_bytes_scanned_cutoff: int
    lambda_max_bytes: int
    stage_concurrency: int
    pandas_layer_version: int
    powertools_layer_version: int
    data_classification: str
    retrain_schedule: str

    @property
    def destroy_on_delete(self) -> bool:
        """Whether stack deletion deletes data buckets (dev only)."""
        return self.removal_policy == "destroy"

    @property
    def log_retention(self) -> logs.RetentionDays:
        """Retention of every log group."""
        return _RETENTIONS[self.log_retention_days]

    @property
    def pandas_layer_arn(self) -> str:
        """The AWS-managed AWS SDK for pandas layer (pandas, pyarrow) in the deploy region."""
        return (f"arn:aws:lambda:{cdk.Aws.REGION}:336392948345:layer:AWSSDKPandas-Python311:"
                f"{self.pandas_layer_version}")

    @property
    def powertools_layer_arn(self) -> str:
        """The AWS-managed Powertools for AWS Lambda (Python) v3 layer in the deploy region."""
        return (f"arn:aws:lambda:{cdk.Aws.REGION}:017000801446:layer:"
                f"AWSLambdaPowertoolsPythonV3-python311-x86_64:{self.powertools_layer_version}")

    @property
    def cdk_removal_policy(self) -> cdk.RemovalPolicy:
        """The removal policy of data-bearing resources."""
        return cdk.RemovalPolicy.DESTROY if self.destroy_on_delete else cdk.RemovalPolicy.RETAIN


def _from_dict(env: str, values: dict[str, Any]) -> EnvironmentSettings:
    expected = {f.name: f.type for f in fields(EnvironmentSettings) if f.name != "env"}
    missing = sorted(set(expected) - set(values))
    unknown = sorted(set(values) - set(expected))
    if missing or unknown:
        raise SettingsError(
            f"cdk.json: context '{CONTEXT_KEY}.{env}': missing {missing}, unknown {unknown}"
        )
    for name, kind in expected.items():
        python_type = int if kind == "int" else str
        if not isinstance(values[name], python_type) or isinstance(values[name], bool):
            raise SettingsError(
                f"cdk.json: field '{CONTEXT_KEY}.{env}.{name}' must be {kind}, got {values[name]!r}"
            )
    if values["log_retention_days"] not in _RETENTIONS:
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.log_retention_days' must be one of "
            f"{sorted(_RETENTIONS)} (the retentions CloudWatch Logs offers)"
        )
    if not values["retrain_schedule"].startswith(("cron(", "rate(")):
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.retrain_schedule' must be an EventBridge "
            "Scheduler expression such as 'cron(0 3 1 * ? *)' or 'rate(30 days)'"
        )
    if values["removal_policy"] not in ("destroy", "retain"):
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.removal_policy' must be 'destroy' or 'retain'"
        )
    return EnvironmentSettings(env=env, **values)


def file_context() -> dict[str, Any]:
    """The ``context`` of cdk.json.

    The CDK CLI passes it to the app, but ``python app.py`` and in-process tests do not:
    giving it to ``cdk.App`` as the base context keeps feature flags, and so templates,
    identical on every path.
    """
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def load_settings(app: cdk.App) -> EnvironmentSettings:
    """Settings of the environment chosen with ``-c env=...`` (default ``dev``)."""
    defaults = file_context()
    env = str(app.node.try_get_context("env") or defaults.get("env", "dev"))
    environments = app.node.try_get_context(CONTEXT_KEY) or defaults[CONTEXT_KEY]
    if env not in environments:
        raise SettingsError(
            f"cdk.json: no environment {env!r} under context '{CONTEXT_KEY}' "
            f"(known: {', '.join(sorted(environments))}); pass -c env=<one of them>"
        )
    return _from_dict(env, environments[env])
