import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@dataclass(frozen=True)
class Synth:
    """Templates by construct id, and the cloud assembly directory they were written to."""

    templates: dict
    outdir: Path
    app: object  # the cdk.App, for what only the construct tree knows (acknowledgements)

    def __getitem__(self, stack_id):
        return self.templates[stack_id]

    def values(self):
        return self.templates.values()


def _synth(env, outdir):
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from app import build_app
    from stacks.settings import file_context

    # Same base context as `python app.py` and the CLI: cdk.json, then -c env=...
    app = build_app(cdk.App(context={**file_context(), "env": env}, outdir=str(outdir)))
    stacks = {c.node.id: c for c in app.node.children if isinstance(c, cdk.Stack)}
    templates = {name: Template.from_stack(stack) for name, stack in stacks.items()}
    app.synth()
    return Synth(templates, Path(outdir), app)


@pytest.fixture(scope="session")
def dev(tmp_path_factory):
    """The dev templates, synthesized once per session."""
    return _synth("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory):
    return _synth("prod", tmp_path_factory.mktemp("cdk-prod"))
