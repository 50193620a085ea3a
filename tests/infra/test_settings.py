"""Settings and the Arrow -> Glue type mapping fail with a message that says where and how to fix."""

import aws_cdk as cdk
import pytest

from stacks.settings import CONTEXT_KEY, SettingsError, file_context, load_settings


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
                                              ("noncurrent_version_days", True)])
def test_a_bad_value_names_its_cdk_json_field(field, value):
    with pytest.raises(SettingsError, match=rf"cdk.json: field '{CONTEXT_KEY}.dev.{field}'"):
        load_settings(_app("dev", **{field: value}))


def test_an_unknown_environment_lists_the_known_ones():
    app = cdk.App(context={**file_context(), "env": "staging"})
    with pytest.raises(SettingsError, match="known: dev, prod"):
        load_settings(app)
