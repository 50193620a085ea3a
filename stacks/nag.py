"""cdk-nag on every synth, and the acknowledgements that repeat across constructs.

The packs run in ``app.py`` itself, so ``cdk synth``, ``make synth`` and the test session
all fail on a finding nobody acknowledged. An acknowledgement names one rule on one
construct with the reason that construct may break it.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import IConstruct

#: Why no stage function sits in a VPC (HIPAA.Security-LambdaInsideVPC).
NO_VPC = ("calls only AWS APIs (S3, Glue, Secrets Manager, Step Functions) over TLS, "
          "authorised by its own role; there is no network resource to reach, and a VPC would "
          "add NAT or endpoint cost and cold starts without narrowing access, which IAM and "
          "the TLS-only bucket policies already do")
#: Why the Lambda runtime is not the newest one (AwsSolutions-L1).
PINNED_RUNTIME = ("Python 3.11 is pinned together with the dependency layer's cp311 wheels "
                  "(requirements/lambda-layer.txt), Glue 5's Python and the interpreter the "
                  "test suite runs this code on; they move to a newer runtime together")


def add_checks(app: cdk.App) -> None:
    """Run the AwsSolutions and HIPAA Security packs when the app synthesizes.

    Acknowledgements are also written into each resource's template ``Metadata``
    (``cdk_nag.rules_to_suppress``): whoever reviews the templates reads the reasons there.
    """
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        HIPAASecurityChecks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept one finding of ``rule`` on ``construct`` (and its children), saying why."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def acknowledge_function(function: IConstruct, *, dead_letters: str) -> None:
    """The findings every lakeguard function accepts; ``dead_letters`` says where failures go."""
    acknowledge(function, "HIPAA.Security-LambdaInsideVPC", f"the function {NO_VPC}")
    acknowledge(function, "AwsSolutions-L1", PINNED_RUNTIME)
    acknowledge(function, "HIPAA.Security-LambdaDLQ", dead_letters)
