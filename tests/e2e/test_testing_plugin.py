"""The README's example for users' own tests runs as written, on the plugin's fixture."""

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("### Testing your own contract", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_publishes_on_the_local_lake_fixture(local_lake, tmp_path):
    namespace: dict = {}
    exec(compile(_readme_example(), str(README), "exec"), namespace)
    (name,) = [n for n in namespace if n.startswith("test_")]
    namespace[name](local_lake, tmp_path)  # its own assertions: published, both teams refined


def test_the_plugin_is_registered_by_the_installed_package(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("lakeguard")


def test_drop_reports_each_stage_as_its_execution_enters_it(local_lake, tmp_path):
    path = tmp_path / "2009-10.csv"
    path.write_text("Date,Team 1,FT,HT,Team 2\nSat Aug 8 2009,Tau,3-3,,Upsilon\n")
    stages: list[str] = []
    result = local_lake.drop(path, "matches/stages/", on_stage=stages.append)
    assert result.outcome == "published", result.reason
    order = ["Validate", "Clean", "QualityGate", "Refine", "Publish", "Published"]
    assert [s for s in stages if s in order] == order
    assert len(stages) == len(set(stages))  # each reported once
