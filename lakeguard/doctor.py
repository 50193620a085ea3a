"""Preflight of a deployment: what ``cdk deploy`` would stumble on, each with its fix.

Run by ``lakeguard doctor`` (and ``make deploy`` before deploying): credentials, region
and partition, CDK bootstrap, the Lambda concurrency the environment reserves against the
account's quota, and the dependency layer's build. Every check reads, none writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeguard.aws import client
from lakeguard.config import partition_of

if TYPE_CHECKING:
    import boto3

#: The bootstrap version the synthesized templates require (their CheckBootstrapVersion rule).
MIN_BOOTSTRAP_VERSION = 6
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
#: Lambda keeps at least this much of the account's concurrency unreserved.
UNRESERVED_FLOOR = 100


@dataclass(frozen=True)
class Finding:
    """One check's outcome: a line to print, and the fix when it failed."""

    check: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``ok  region: ...`` or ``FAIL  region: ... -> fix``."""
        return (f"ok    {self.check}: {self.detail}" if self.ok
                else f"FAIL  {self.check}: {self.detail} -> {self.fix}")


def concurrency_needed(reserved_per_stage: int | None, stages: int) -> int:
    """Concurrency the environment reserves for its stage functions (0 when off)."""
    return 0 if reserved_per_stage is None else reserved_per_stage * stages


def check_credentials(session: boto3.session.Session | None) -> Finding:
    """Someone is signed in."""
    try:
        who = client("sts", session).get_caller_identity()
    except Exception as err:
        return Finding("credentials", False, f"no usable AWS credentials ({type(err).__name__})",
                       "run `aws configure` or `aws sso login`, or set AWS_PROFILE")
    return Finding("credentials", True, f"{who['Arn']} (account {who['Account']})")


def check_region(region: str | None) -> Finding:
    """A region is set, in the commercial partition."""
    if not region:
        return Finding("region", False, "no region set",
                       "set AWS_REGION (or a region in your profile)")
    if partition_of(region) != "aws":
        return Finding("region", False, f"{region} is in the {partition_of(region)} partition",
                       "deploy to a region of the commercial partition 'aws'")
    return Finding("region", True, region)


def check_bootstrap(session: boto3.session.Session | None, region: str | None) -> Finding:
    """The account and region were bootstrapped for the CDK, recently enough."""
    try:
        value = client("ssm", session).get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"]
    except Exception as err:
        return Finding("bootstrap", False, f"{BOOTSTRAP_PARAMETER} not readable "
                       f"({type(err).__name__}): the environment is not bootstrapped",
                       f"run `npx aws-cdk bootstrap aws://<account>/{region or '<region>'}`")
    if int(value) < MIN_BOOTSTRAP_VERSION:
        return Finding("bootstrap", False, f"bootstrap version {value} is older than "
                       f"{MIN_BOOTSTRAP_VERSION}", "run `npx aws-cdk bootstrap` again to upgrade it")
    return Finding("bootstrap", True, f"CDK bootstrap version {value}")


def check_concurrency(session: boto3.session.Session | None, needed: int) -> Finding:
    """The account's quota leaves Lambda's unreserved floor after the reservations."""
    try:
        limit = int(client("lambda", session).get_account_settings()["AccountLimit"][
            "ConcurrentExecutions"])
    except Exception as err:
        return Finding("concurrency", False, f"cannot read the Lambda quota ({type(err).__name__})",
                       "allow lambda:GetAccountSettings, or check the quota in Service Quotas")
    required = needed + UNRESERVED_FLOOR
    if needed and limit < required:
        return Finding("concurrency", False,
                       f"the environment reserves {needed} concurrent executions and the account "
                       f"allows {limit} (Lambda keeps {UNRESERVED_FLOOR} unreserved)",
                       f"request a quota of at least {required} (Service Quotas, Lambda "
                       "'Concurrent executions', L-B99A9384) or set stage_reserved_concurrency "
                       "to null in cdk.json")
    return Finding("concurrency", True, f"quota {limit}, reserved {needed}")


def check_layer(build: Callable[[], Any]) -> Finding:
    """The dependency layer builds from the lock file (PyPI wheels, cached)."""
    try:
        folder = build()
    except Exception as err:
        return Finding("layer", False, f"the dependency layer does not build: {err}".splitlines()[0],
                       "let pip reach PyPI (or your index) and check requirements/"
                       "lambda-layer.txt; `make lock` regenerates it")
    return Finding("layer", True, f"built from the lock file ({folder})")


def run_checks(session: boto3.session.Session | None, region: str | None, *,
               concurrency: int, build_layer: Callable[[], Any]) -> list[Finding]:
    """Every check, in the order a deployment meets them."""
    findings = [check_credentials(session), check_region(region)]
    if findings[0].ok:
        findings += [check_bootstrap(session, region), check_concurrency(session, concurrency)]
    findings.append(check_layer(build_layer))
    return findings
