"""cfn-lint on every synthesized template: CloudFormation would accept them as written."""

import json
from pathlib import Path

import pytest
from cfnlint.api import lint_all


def _errors(path):
    return [f"{m.rule.id} {path.name}: {m.message}" for m in lint_all(path.read_text())
            if m.rule.severity == "error"]


def test_the_linter_reports_errors_at_all(tmp_path):
    # A check that cannot fail proves nothing: an unknown bucket property must be an error.
    bad = tmp_path / "bad.template.json"
    bad.write_text(json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket",
                                                   "Properties": {"Nope": 1}}}}))
    assert _errors(bad)


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_templates_have_no_cfn_lint_errors(request, fixture):
    synth = request.getfixturevalue(fixture)
    templates = sorted(Path(synth.outdir).glob("*.template.json"))
    assert len(templates) == 5
    errors = [e for t in templates for e in _errors(t)]
    assert not errors, "\n".join(errors)
