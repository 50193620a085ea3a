"""Deploy a synthesized CDK cloud assembly into the embedded AWS, as ``cdk deploy`` would.

The templates are the ones ``cdk synth`` writes; nothing here describes the infrastructure
a second time. Assets are zipped and uploaded where the templates expect them, stacks are
created in dependency order, and the resources moto's CloudFormation skips are created
with boto3 from the same templates (:func:`complete_skipped_resources`).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeguard.aws import client
from lakeguard.cachelock import held
from lakeguard.exceptions import LocalRuntimeError
from lakeguard.local.gaps import inline_definition_substitutions

ACCOUNT = "123456789012"
REGION = "us-east-1"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
#: How long a stack may wait for its custom resources' Lambda to answer.
CUSTOM_RESOURCE_SECONDS = 180


@dataclass
class DeployedStack:
    """A stack created in the embedded AWS: its outputs and its resources' physical ids."""

    name: str
    template: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)


def _placeholders(text: str) -> str:
    return (text.replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
            .replace("${AWS::Partition}", "aws"))


def _zip_dir(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


#: Zipped directory assets, by asset hash: the dependency layer takes ~10 s to zip.
ZIP_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "asset-zips"


def _zipped(source: Path) -> bytes:
    """A directory asset as the zip ``cdk deploy`` uploads; CDK names it by content hash."""
    cached = ZIP_CACHE / f"{source.name}.zip"
    with held(cached):
        if cached.exists():
            return cached.read_bytes()
        body = _zip_dir(source)
        scratch = cached.with_suffix(".tmp")
        scratch.write_bytes(body)
        scratch.rename(cached)
    return body


def publish_assets(assembly: Path, manifest: dict[str, Any]) -> int:
    """Upload every file asset of the assembly to its bootstrap bucket and key."""
    s3 = client("s3")
    count = 0
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:asset-manifest":
            continue
        assets = json.loads((assembly / artifact["properties"]["file"]).read_text())
        for asset in assets.get("files", {}).values():
            source = assembly / asset["source"]["path"]
            body = _zipped(source) if asset["source"].get("packaging") == "zip" else \
                source.read_bytes()
            for destination in asset["destinations"].values():
                bucket = _placeholders(destination["bucketName"])
                with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                    s3.create_bucket(Bucket=bucket)
                s3.put_object(Bucket=bucket, Key=_placeholders(destination["objectKey"]),
                              Body=body)
                count += 1
    return count


def staged_asset(assembly: Path, object_key: str) -> Path:
    """The folder CDK staged for the file asset a template points at by ``object_key``.

    Read from the asset manifests, not guessed: CDK appends the source folder's extension
    to the staged name, so a checkout in a folder with a dot (``mktemp -d``:
    ``tmp.AbC123``) stages the project as ``asset.<hash>.AbC123``.
    """
    for manifest in assembly.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text())["files"].values():
            if object_key in {d["objectKey"] for d in asset["destinations"].values()}:
                return assembly / str(asset["source"]["path"])
    raise LocalRuntimeError(f"{object_key} is in no asset manifest of {assembly}; "
                            "synthesize again (`python app.py`)")


def stack_order(manifest: dict[str, Any]) -> list[str]:
    """Stack artifact ids, dependencies first."""
    stacks = {k: v for k, v in manifest["artifacts"].items()
              if v["type"] == "aws:cloudformation:stack"}
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name not in stacks:
            return
        if name in path:
            raise LocalRuntimeError(f"cyclic stack dependencies: {' -> '.join(path)}")
        for dependency in stacks[name].get("dependencies", []):
            visit(dependency, (*path, name))
        ordered.append(name)

    for name in sorted(stacks):
        visit(name, ())
    return ordered


def create_stack(name: str, template: dict[str, Any]) -> DeployedStack:
    """Create one stack and wait for it; fail with moto's status reason."""
    cfn = client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template),
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
                                   "CAPABILITY_AUTO_EXPAND"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    deadline = time.monotonic() + CUSTOM_RESOURCE_SECONDS
    while stack["StackStatus"] == "CREATE_IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.2)  # a custom resource (the tables) answers from its own Lambda
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise LocalRuntimeError(
            f"stack {name} ended {stack['StackStatus']}: {stack.get('StackStatusReason', '')}"
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}
    return DeployedStack(name, template, outputs, physical)


def deploy_assembly(assembly: Path) -> list[DeployedStack]:
    """Deploy every stack of a synthesized cloud assembly; return them in creation order."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    client("ssm").put_parameter(Name=BOOTSTRAP_VERSION_PARAMETER, Value="21", Type="String",
                                Overwrite=True)
    publish_assets(assembly, manifest)
    deployed: list[DeployedStack] = []
    for artifact_id in stack_order(manifest):
        artifact = manifest["artifacts"][artifact_id]
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        stack_name = artifact["properties"].get("stackName", artifact_id)
        stack = create_stack(stack_name, inline_definition_substitutions(template))
        deployed.append(stack)
    return deployed
