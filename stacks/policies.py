"""Customer-managed IAM policies in which a wildcard cannot be written without its reason.

Why not CDK's ``grant_*`` helpers: they write inline ``DefaultPolicy`` documents (flagged
by HIPAA ``IAMNoInlinePolicy``) with whole-bucket ``/*`` resources behind cross-stack tokens
that a reviewer cannot read. Here each role has exactly one managed policy, its ARNs are
spelled from deterministic names, and every wildcard is acknowledged for cdk-nag next to
the statement that needs it, with the reason it cannot be narrower.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.nag import acknowledge

#: cdk-nag renders pseudo parameters as ``<AWS::...>``; templates use the same spelling so
#: that a wildcard's acknowledgement id is the template itself.
_PSEUDO = {"<AWS::Partition>": cdk.Aws.PARTITION, "<AWS::Region>": cdk.Aws.REGION,
           "<AWS::AccountId>": cdk.Aws.ACCOUNT_ID}


def resolve(template: str) -> str:
    """The CloudFormation value of a template written with ``<AWS::...>`` placeholders."""
    for placeholder, token in _PSEUDO.items():
        template = template.replace(placeholder, token)
    return template


def arn(service: str, resource: str, *, regional: bool = True) -> str:
    """Template of an ARN in this account (and region, unless the service is global)."""
    where = "<AWS::Region>:<AWS::AccountId>" if regional else ":"
    return f"arn:<AWS::Partition>:{service}:{where}:{resource}"


def scope_service_statements(resource: cdk.CfnResource, path: str, document: object) -> None:
    """Give each statement of a resource policy that admits an AWS service ``aws:SourceAccount``.

    Call it once every stack is built: CDK's EventBridge targets grant
    ``events.amazonaws.com`` on a key or topic without a condition, which would let rules of
    any account use it through the service (the confused deputy). ``document`` is the
    policy as the L1 resource holds it (resolved here), ``path`` its property name.
    """
    resolved = cdk.Stack.of(resource).resolve(document)
    for index, statement in enumerate(resolved["Statement"]):
        if "Service" in statement.get("Principal", {}) and "Condition" not in statement:
            resource.add_property_override(
                f"{path}.Statement.{index}.Condition",
                {"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}})


class WildcardError(ValueError):
    """A policy statement would hold a wildcard nobody justified."""


class ScopedPolicy(Construct):
    """One customer-managed policy, built statement by statement."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str,
                 roles: Sequence[iam.IRole] = (), managed_policy_name: str | None = None
                 ) -> None:
        super().__init__(scope, construct_id)
        self.policy = iam.ManagedPolicy(self, "Policy", description=description,
                                        roles=list(roles),
                                        managed_policy_name=managed_policy_name)

    def allow(self, sid: str, actions: Sequence[str], resources: Sequence[str], *,
              wildcard_reason: str | None = None,
              conditions: dict[str, dict[str, object]] | None = None) -> None:
        """Allow ``actions`` on ``resources`` (ARNs, tokens or ``<AWS::...>`` templates).

        A resource with ``*`` must come with ``wildcard_reason``: it is recorded as the
        cdk-nag acknowledgement of exactly that resource on this policy.
        """
        wild_actions = [a for a in actions if "*" in a]
        if wild_actions:
            raise WildcardError(f"{self.node.path} {sid}: actions {wild_actions} use '*'; "
                                "name each action")
        wild = [r for r in resources if "*" in r]
        for resource in wild:
            if cdk.Token.is_unresolved(resource):
                raise WildcardError(
                    f"{self.node.path} {sid}: {resource!r} mixes a token with '*'; write it "
                    "as a template with <AWS::...> placeholders (stacks/policies.py arn())")
        if wild and not wildcard_reason:
            raise WildcardError(f"{self.node.path} {sid}: resources {wild} use '*'; pass "
                                "wildcard_reason saying why no narrower resource exists")
        self.policy.add_statements(iam.PolicyStatement(
            sid=sid, actions=list(actions), resources=[resolve(r) for r in resources],
            conditions=conditions))
        for resource in wild:
            acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{resource}]",
                        str(wildcard_reason))


class ServiceRole(Construct):
    """A role for one AWS service principal whose only permissions are its ScopedPolicy.

    Constructs receive :attr:`immutable`: what CDK would add on its own (X-Ray, log
    delivery, queue consumption) is then dropped, so the policy here is the whole truth.
    """

    def __init__(self, scope: Construct, construct_id: str, *, service: str,
                 description: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal(service),
                             description=description)
        self.access = ScopedPolicy(self, "Access", roles=[self.role],
                                   description=f"{description}: all it may do")

    @property
    def immutable(self) -> iam.IRole:
        """The role as handed to a function, job or state machine."""
        return self.role.without_policy_updates()

    def attach_before(self, consumer: Construct) -> None:
        """Deploy the policy before ``consumer``, which checks its permissions at creation."""
        consumer.node.add_dependency(self.access.policy)

    def allow_tracing(self) -> None:
        """X-Ray segments: the service offers no resource-level permission."""
        self.access.allow("SendTraces", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                          ["*"], wildcard_reason="X-Ray PutTraceSegments/PutTelemetryRecords "
                          "support no resource-level permission (IAM service authorization "
                          "reference); tracing is required on every function and the pipeline")
