"""Settings and the Arrow -> Glue type mapping fail with a message that says where and how to fix."""

import aws_cdk as cdk
import pytest

from stacks.settings import (
    CONTEXT_KEY,
    SettingsError,
    check_partition,
    file_context,
    load_settings,
)


def _app(env, **overrides):
    context = file_context()
    environments = {name: dict(values) for name, values in context[CONTEXT_KEY].items()}
    environments[env] = {**environments.get(env, environments["dev"]), **overrides}
    return cdk.App(context={**context, CONTEXT_KEY: environments, "env": env})


def test_each_environment_of_cdk_json_loads():
    for env in ("dev", "prod"):
        settings = load_settings(_app(env))
        assert settings.env == env and settings.name_prefix == f"lakeguard-{env}"
        assert settings.lambda_max_bytes == 256 * 1024 * 1024


@pytest.mark.parametrize(("field", "value"), [("removal_policy", "delete"),
                                              ("log_retention_days", 42),
                                              ("lambda_max_bytes", "256MiB"),
                                              ("noncurrent_version_days", True),
                                              ("lambda_architecture", "x86"),
                                              ("stage_reserved_concurrency", 0)])
def test_a_bad_value_names_its_cdk_json_field(field, value):
    with pytest.raises(SettingsError, match=rf"cdk.json: field '{CONTEXT_KEY}.dev.{field}'"):
        load_settings(_app("dev", **{field: value}))


def test_an_unknown_environment_lists_the_known_ones():
    app = cdk.App(context={**file_context(), "env": "staging"})
    with pytest.raises(SettingsError, match="known: dev, prod"):
        load_settings(app)


@pytest.mark.parametrize("region", ["eu-west-3", "ap-southeast-5", "me-central-1", "il-central-1"])
def test_every_commercial_region_is_accepted_opt_in_ones_included(region):
    check_partition(region)


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"),
                                                   ("us-gov-west-1", "aws-us-gov")])
def test_synth_refuses_another_partition_in_one_line(tmp_path, region, partition):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "app.py"], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "CDK_DEFAULT_REGION": region,
                               "CDK_OUTDIR": str(tmp_path)}, check=False)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("lakeguard:")]
    assert len(lines) == 1 and partition in lines[0] and region in lines[0], done.stderr[-2000:]


def test_the_embedded_lake_may_override_the_architecture():
    from stacks.settings import ARCHITECTURE_OVERRIDE

    app = _app("dev")
    app.node.set_context(ARCHITECTURE_OVERRIDE, "x86_64")
    assert load_settings(app).lambda_architecture == "x86_64"
