"""Find a deployed lakeguard environment: its stacks' outputs name every resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakeguard.aws import client
from lakeguard.exceptions import SetupError

if TYPE_CHECKING:
    import boto3


def stack_outputs(prefix: str, session: boto3.session.Session | None = None) -> dict[str, str]:
    """Outputs of every stack whose name starts with ``prefix`` (e.g. ``lakeguard-dev-``)."""
    cfn = client("cloudformation", session)
    outputs: dict[str, str] = {}
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if stack["StackName"].startswith(prefix):
                outputs.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
    if not outputs:
        raise SetupError(f"no deployed stack named {prefix}* in this account and region; check "
                         "--profile and --region, or pass --stack-prefix as set in cdk.json "
                         "(or --local DIR for an exported lake)")
    return outputs
