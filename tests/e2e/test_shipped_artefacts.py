"""The embedded lake runs what `cdk deploy` ships, with the permissions it ships.

Each test breaks one kind of thing the way a packaging or policy mistake would, on one
deployed function, drops a file, and expects the run to fail naming the missing piece;
then it restores the deployment. One test per kind of mistake, not per resource.
"""

import json
from pathlib import Path

import pytest

from lakeguard.aws import client
from lakeguard.exceptions import LocalRuntimeError
from tests.e2e.deployed import code_changed, function_name, zipped

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASON = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1" / "2001-02_fr.1.csv"


def _drop(lake, tmp_path, name):
    copy = tmp_path / name
    copy.write_bytes(SEASON.read_bytes())
    return lake.drop(copy, "matches/")


def test_the_functions_run_from_the_asset_and_layer_not_from_the_virtualenv(lake):
    configuration = client("lambda").get_function_configuration(
        FunctionName=function_name(lake, "clean"))
    spec_layers = [layer["Arn"] for layer in configuration["Layers"]]
    assert len(spec_layers) == 1
    from moto.awslambda.models import lambda_backends

    from lakeguard.local.lambda_service import spec_of

    function = lambda_backends["123456789012"]["us-east-1"].get_function(
        configuration["FunctionName"])
    spec = spec_of(function, lake.functions.store)
    path = spec.search_path(Path("/sdk"))
    assert path[0] == str(spec.code) and (spec.code / "lambdas" / "clean.py").is_file()
    assert all(".venv" not in entry for entry in path)
    assert (spec.layers[0] / "python" / "pyarrow").is_dir()


def test_a_package_missing_from_the_layer_fails_naming_the_function_and_module(lake, tmp_path):
    lam = client("lambda")
    name = function_name(lake, "validate")
    original = lam.get_function_configuration(FunctionName=name)["Layers"][0]["Arn"]
    layer = lake.functions.store.unpack(_layer_version(original).code_bytes)
    client("s3").put_object(Bucket=lake.bucket("artefacts"), Key="tests/layer-without-pyarrow.zip",
                            Body=zipped(layer, {"python/pyarrow": None}))
    broken = lam.publish_layer_version(
        LayerName="lakeguard-test-without-pyarrow",
        Content={"S3Bucket": lake.bucket("artefacts"), "S3Key": "tests/layer-without-pyarrow.zip"},
        CompatibleRuntimes=["python3.11"])["LayerVersionArn"]
    lam.update_function_configuration(FunctionName=name, Layers=[broken])
    try:
        with pytest.raises(LocalRuntimeError) as failure:
            _drop(lake, tmp_path, "layer-check.csv")
    finally:
        lam.update_function_configuration(FunctionName=name, Layers=[original])
    message = str(failure.value)
    assert name in message and "lambdas.validate" in message
    assert "Runtime.ImportModuleError" in message and "No module named 'pyarrow'" in message


def _layer_version(arn):
    from moto.awslambda.models import lambda_backends

    return lambda_backends["123456789012"]["us-east-1"].layers_versions_by_arn(arn)


def test_a_file_missing_from_the_asset_fails_naming_the_function_and_module(lake, tmp_path):
    with code_changed(lake, "quality", {"lakeguard/pipeline/quality.py": None}) as name, \
            pytest.raises(LocalRuntimeError) as failure:
        _drop(lake, tmp_path, "asset-check.csv")
    message = str(failure.value)
    assert name in message and "Runtime.ImportModuleError" in message
    assert "lakeguard.pipeline.quality" in message


def test_an_action_missing_from_a_role_fails_the_run_as_access_denied(lake, tmp_path):
    iam = client("iam")
    name = function_name(lake, "validate")
    role = client("lambda").get_function_configuration(FunctionName=name)["Role"].rsplit("/", 1)[1]
    (attached,) = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
    document = iam.get_policy_version(PolicyArn=policy["Arn"],
                                      VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "dynamodb:UpdateItem"] or ["s3:ListBucket"]
    narrowed = iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=json.dumps(document),
                                         SetAsDefault=True)["PolicyVersion"]["VersionId"]
    try:
        result = _drop(lake, tmp_path, "role-check.csv")
    finally:
        iam.set_default_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        iam.delete_policy_version(PolicyArn=policy["Arn"], VersionId=narrowed)
    assert result.outcome == "quarantined"
    assert "AccessDenied" in result.reason and "dynamodb:UpdateItem" in result.reason
