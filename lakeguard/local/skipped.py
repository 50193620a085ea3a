"""Apply, with boto3, the bucket settings moto's CloudFormation accepts but ignores.

Gap: moto creates S3 buckets without their versioning and EventBridge notification
settings. Bridge: read them from the deployed template and apply them through the API.
"""

from __future__ import annotations

from lakeguard.aws import client
from lakeguard.local.cloudformation import DeployedStack


def complete_buckets(stack: DeployedStack) -> None:
    """Turn on versioning and EventBridge notifications where the template asks for them."""
    s3 = client("s3")
    for logical, resource in stack.template.get("Resources", {}).items():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        props = resource.get("Properties", {})
        bucket = stack.physical_ids[logical]
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        notification = props.get("NotificationConfiguration", {})
        if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})


def complete_skipped_resources(stacks: list[DeployedStack]) -> None:
    """Apply what moto's CloudFormation ignored, for every deployed stack."""
    for stack in stacks:
        complete_buckets(stack)
