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
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from lakeguard import config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = PROJECT_ROOT / "cdk.json"
CONTEXT_KEY = "lakeguard:environments"
#: Context key that overrides the environment's ``lambda_architecture``: the embedded lake
#: synthesizes for the machine it runs on, whose CPU must load the layer's binary wheels.
ARCHITECTURE_OVERRIDE = config.CONTEXT_ARCHITECTURE

#: Graviton (arm64) is the default: about 20% cheaper per GB-second than x86_64 and, for
#: this dependency set, a smaller layer (more room under Lambda's 250 MB unzipped limit).
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


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
    quarantine_retention_days: int
    lambda_max_bytes: int
    lambda_architecture: str
    stage_reserved_concurrency: int | None
    data_classification: str
    retrain_schedule: str
    compaction_schedule: str

    @property
    def destroy_on_delete(self) -> bool:
        """Whether stack deletion deletes data buckets (dev only)."""
        return self.removal_policy == "destroy"

    @property
    def log_retention(self) -> logs.RetentionDays:
        """Retention of every log group."""
        return _RETENTIONS[self.log_retention_days]

    @property
    def architecture(self) -> lambda_.Architecture:
        """CPU architecture of every function and of the dependency layer's wheels."""
        return ARCHITECTURES[self.lambda_architecture]

    @property
    def cdk_removal_policy(self) -> cdk.RemovalPolicy:
        """The removal policy of data-bearing resources."""
        return cdk.RemovalPolicy.DESTROY if self.destroy_on_delete else cdk.RemovalPolicy.RETAIN


def _from_dict(env: str, values: dict[str, Any]) -> EnvironmentSettings:
    expected = {f.name: f.type for f in fields(EnvironmentSettings) if f.name != "env"}
    # CDK context drops JSON nulls on its way through jsii: a nullable field may be absent.
    values = {**{n: None for n, kind in expected.items() if kind == "int | None"}, **values}
    missing = sorted(set(expected) - set(values))
    unknown = sorted(set(values) - set(expected))
    if missing or unknown:
        raise SettingsError(
            f"cdk.json: context '{CONTEXT_KEY}.{env}': missing {missing}, unknown {unknown}"
        )
    for name, kind in expected.items():
        value = values[name]
        if kind == "int | None" and value is None:
            continue
        python_type = str if kind == "str" else int
        if not isinstance(value, python_type) or isinstance(value, bool):
            raise SettingsError(
                f"cdk.json: field '{CONTEXT_KEY}.{env}.{name}' must be {kind}, got {value!r}"
            )
    if values["lambda_architecture"] not in ARCHITECTURES:
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.lambda_architecture' must be one of "
            f"{sorted(ARCHITECTURES)}; got {values['lambda_architecture']!r}"
        )
    reserved = values["stage_reserved_concurrency"]
    if reserved is not None and reserved < 1:
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.stage_reserved_concurrency' must be null (no "
            f"reservation) or at least 1; got {reserved} (0 would stop every stage)"
        )
    if values["log_retention_days"] not in _RETENTIONS:
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.log_retention_days' must be one of "
            f"{sorted(_RETENTIONS)} (the retentions CloudWatch Logs offers)"
        )
    for schedule in ("retrain_schedule", "compaction_schedule"):
        if not values[schedule].startswith(("cron(", "rate(")):
            raise SettingsError(
                f"cdk.json: field '{CONTEXT_KEY}.{env}.{schedule}' must be an EventBridge "
                "Scheduler expression such as 'cron(0 3 1 * ? *)' or 'rate(30 days)'"
            )
    if values["removal_policy"] not in ("destroy", "retain"):
        raise SettingsError(
            f"cdk.json: field '{CONTEXT_KEY}.{env}.removal_policy' must be 'destroy' or 'retain'"
        )
    return EnvironmentSettings(env=env, **values)


def check_partition(region: str | None) -> None:
    """Refuse a region outside the commercial partition ``aws`` (opt-in regions are fine).

    The service principals, Glue 5 and the ASL's service integrations the lake relies on
    are those of the commercial partition.
    """
    if not region or config.partition_of(region) == "aws":
        return
    raise SettingsError(
        f"region {region} is in the {config.partition_of(region)} partition; lakeguard deploys "
        "to the commercial partition 'aws' only (any of its regions, opt-in ones included): "
        "choose such a region with AWS_REGION or your profile")


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
    values = dict(environments[env])
    override = app.node.try_get_context(ARCHITECTURE_OVERRIDE)
    if override is not None:
        values["lambda_architecture"] = override
    return _from_dict(env, values)
