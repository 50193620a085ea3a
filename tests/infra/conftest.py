import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _synth(env, outdir):
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from app import build_app

    app = build_app(cdk.App(context={"env": env}, outdir=str(outdir)))
    stacks = {c.node.id: c for c in app.node.children if isinstance(c, cdk.Stack)}
    return {name: Template.from_stack(stack) for name, stack in stacks.items()}


@pytest.fixture(scope="session")
def dev(tmp_path_factory):
    """The dev templates, synthesized once per session."""
    return _synth("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory):
    return _synth("prod", tmp_path_factory.mktemp("cdk-prod"))
