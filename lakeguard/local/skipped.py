"""Create, with boto3, what moto's CloudFormation accepts but does not build.

Gap: moto creates S3 buckets without their versioning and notification settings, and
skips ``AWS::Glue::Database``/``AWS::Glue::Table`` and ``AWS::Athena::WorkGroup``.
Bridge: read those properties from the deployed template, resolve the few intrinsic
functions they use against the deployed stacks, and apply them through the API.
"""

from __future__ import annotations

from typing import Any

from lakeguard.aws import client
from lakeguard.exceptions import LocalRuntimeError
from lakeguard.local.cloudformation import ACCOUNT, REGION, DeployedStack


def resolve(value: Any, stack: DeployedStack, exports: dict[str, str]) -> Any:
    """Resolve Ref, Fn::GetAtt (Arn), Fn::Join, Fn::Sub and Fn::ImportValue."""
    if isinstance(value, list):
        return [resolve(v, stack, exports) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        ref = value["Ref"]
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com"}
        return pseudo.get(ref) or stack.physical_ids.get(ref, ref)
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        physical = stack.physical_ids.get(logical, logical)
        return f"arn:aws:s3:::{physical}" if attribute == "Arn" else physical
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(p, stack, exports)) for p in parts)
    if "Fn::ImportValue" in value:
        name = resolve(value["Fn::ImportValue"], stack, exports)
        if name not in exports:
            raise LocalRuntimeError(f"stack {stack.name} imports {name!r}, which no stack exports")
        return exports[name]
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for logical, physical in {**stack.physical_ids, "AWS::AccountId": ACCOUNT,
                                  "AWS::Region": REGION, "AWS::Partition": "aws"}.items():
            text = text.replace("${" + logical + "}", physical)
        return text
    return {k: resolve(v, stack, exports) for k, v in value.items()}


def _resources(stack: DeployedStack, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(logical, r.get("Properties", {}))
            for logical, r in stack.template.get("Resources", {}).items() if r["Type"] == kind]


def complete_buckets(stack: DeployedStack, exports: dict[str, str]) -> None:
    """Apply versioning and EventBridge notifications that moto's bucket model ignores."""
    s3 = client("s3")
    for logical, props in _resources(stack, "AWS::S3::Bucket"):
        bucket = stack.physical_ids[logical]
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=bucket,
                                     VersioningConfiguration={"Status": "Enabled"})
        notification = props.get("NotificationConfiguration", {})
        if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={"EventBridgeConfiguration": {}},
            )


def complete_catalog(stack: DeployedStack, exports: dict[str, str]) -> None:
    """Create the Glue databases and tables and the Athena workgroups of the template."""
    glue = client("glue")
    for _, props in _resources(stack, "AWS::Glue::Database"):
        database = resolve(props["DatabaseInput"], stack, exports)
        glue.create_database(DatabaseInput=database)
    for _, props in _resources(stack, "AWS::Glue::Table"):
        table = resolve(props["TableInput"], stack, exports)
        glue.create_table(DatabaseName=resolve(props["DatabaseName"], stack, exports),
                          TableInput=table)
    athena = client("athena")
    for _, props in _resources(stack, "AWS::Athena::WorkGroup"):
        config = resolve(props.get("WorkGroupConfiguration", {}), stack, exports)
        output = config.get("ResultConfiguration", {}).get("OutputLocation")
        athena.create_work_group(
            Name=resolve(props["Name"], stack, exports),
            Configuration={"ResultConfiguration": {"OutputLocation": output}} if output else {},
        )


def complete_skipped_resources(stacks: list[DeployedStack]) -> None:
    """Build, for every deployed stack, what moto's CloudFormation skipped."""
    exports = {e["Name"]: e["Value"] for e in client("cloudformation").list_exports()["Exports"]}
    for stack in stacks:
        complete_buckets(stack, exports)
        complete_catalog(stack, exports)
