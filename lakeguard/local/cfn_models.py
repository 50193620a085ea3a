"""CloudFormation models moto lacks: Glue, Athena, Secrets Manager, alarms, schedules.

Gap: moto's CloudFormation skips these types (``No Moto CloudFormation support``), so a
``Ref`` to them resolves to nothing and cross-stack exports of them are never created.
Bridge: register minimal models that create each resource through the service's own API
(moto's server is reached from inside its own request, which the threaded server allows).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from lakeguard.aws import client
from lakeguard.local.cloudformation import ACCOUNT, REGION


class _ApiBacked:
    """A resource created by one API call; its ``Ref`` is its name.

    A mixin: moto finds models through ``CloudFormationModel.__subclasses__()``, which
    lists direct subclasses only, so each model below subclasses it itself.
    """

    TYPE = ""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def get_cfn_attribute(self, attribute_name: str) -> str:
        raise NotImplementedError(attribute_name)

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str, **kwargs: Any,
    ) -> _ApiBacked:
        return cls(cls.create(cloudformation_json.get("Properties", {}), resource_name))


class GlueDatabase(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """A Glue database."""

    TYPE = "AWS::Glue::Database"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        client("glue").create_database(DatabaseInput=props["DatabaseInput"])
        return str(props["DatabaseInput"]["Name"])


class GlueTable(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """A Glue table."""

    TYPE = "AWS::Glue::Table"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        client("glue").create_table(DatabaseName=props["DatabaseName"],
                                    TableInput=props["TableInput"])
        return str(props["TableInput"]["Name"])


class GlueJob(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """A Glue job (runs on local Spark, see gaps.py)."""

    TYPE = "AWS::Glue::Job"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        name = props.get("Name", resource_name)
        client("glue").create_job(
            Name=name, Role=props["Role"], Command=props["Command"],
            DefaultArguments=props.get("DefaultArguments", {}),
            ExecutionProperty=props.get("ExecutionProperty", {"MaxConcurrentRuns": 1}),
            GlueVersion=props.get("GlueVersion", "5.0"),
        )
        return str(name)


class GlueSecurityConfiguration(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """A Glue security configuration (encryption of job logs, bookmarks and S3 writes)."""

    TYPE = "AWS::Glue::SecurityConfiguration"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        config = dict(props["EncryptionConfiguration"])
        if "S3Encryptions" in config:  # the template's plural is the API's singular
            config["S3Encryption"] = config.pop("S3Encryptions")
        client("glue").create_security_configuration(Name=props["Name"],
                                                     EncryptionConfiguration=config)
        return str(props["Name"])


class AthenaWorkGroup(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """An Athena workgroup (moto's Athena runs no query)."""

    TYPE = "AWS::Athena::WorkGroup"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        config = props.get("WorkGroupConfiguration", {})
        output = config.get("ResultConfiguration", {}).get("OutputLocation")
        client("athena").create_work_group(
            Name=props["Name"],
            Configuration={"ResultConfiguration": {"OutputLocation": output}} if output else {},
        )
        return str(props["Name"])


class Secret(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """A Secrets Manager secret; ``GenerateSecretString`` is honoured, its ``Ref`` is the ARN."""

    TYPE = "AWS::SecretsManager::Secret"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        generate = props.get("GenerateSecretString", {})
        secrets = client("secretsmanager")
        value = props.get("SecretString") or secrets.get_random_password(
            PasswordLength=int(generate.get("PasswordLength", 32)),
            ExcludePunctuation=bool(generate.get("ExcludePunctuation", False)),
        )["RandomPassword"]
        created = secrets.create_secret(Name=props.get("Name", resource_name), SecretString=value,
                                        Description=props.get("Description", ""))
        return str(created["ARN"])


class CloudWatchAlarm(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """A CloudWatch metric alarm (moto has the API, not the CloudFormation model)."""

    TYPE = "AWS::CloudWatch::Alarm"
    _KEYS = ("MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods", "Threshold",
             "ComparisonOperator", "Dimensions", "AlarmActions", "AlarmDescription",
             "TreatMissingData")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:  # noqa: D102
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:  # noqa: D102
        return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{self.name}"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        name = props.get("AlarmName", resource_name)
        arguments = {k: props[k] for k in cls._KEYS if k in props}
        for number in ("Period", "EvaluationPeriods"):
            if number in arguments:
                arguments[number] = int(arguments[number])
        if "Threshold" in arguments:
            arguments["Threshold"] = float(arguments["Threshold"])
        client("cloudwatch").put_metric_alarm(AlarmName=name, **arguments)
        return str(name)


class SchedulerSchedule(_ApiBacked, CloudFormationModel):  # type: ignore[misc]
    """An EventBridge Scheduler schedule (moto has the API, not the CloudFormation model).

    moto stores it and never fires it: tests start what it would start from its target.
    """

    TYPE = "AWS::Scheduler::Schedule"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:  # noqa: D102
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:  # noqa: D102
        return f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{self.name}"

    @classmethod
    def create(cls, props: dict[str, Any], resource_name: str) -> str:  # noqa: D102
        name = props.get("Name", resource_name)
        target = props["Target"]
        window = props["FlexibleTimeWindow"]
        client("scheduler").create_schedule(
            Name=name, ScheduleExpression=props["ScheduleExpression"],
            ScheduleExpressionTimezone=props.get("ScheduleExpressionTimezone", "UTC"),
            FlexibleTimeWindow={"Mode": window["Mode"], **(
                {"MaximumWindowInMinutes": int(window["MaximumWindowInMinutes"])}
                if "MaximumWindowInMinutes" in window else {})},
            Target={"Arn": target["Arn"], "RoleArn": target["RoleArn"],
                    "Input": target.get("Input", "")},
            Description=props.get("Description", ""),
        )
        return str(name)


def register_missing_cloudformation_models() -> None:
    """Make moto's CloudFormation see the models above (its type map is cached)."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
