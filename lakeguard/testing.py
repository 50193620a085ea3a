r"""The embedded lake as a pytest fixture, for tests of your own contracts and files.

lakeguard registers this module as a pytest plugin (entry point ``pytest11``), so every
test run where lakeguard is installed can ask for ``local_lake``: moto with the stacks
``cdk deploy`` ships, each Lambda running from its asset and layer, the Glue jobs on local
Spark. A contract you add under ``datasets/`` is part of the synthesized app, so its files
go through the same stages as in AWS::

    def test_my_file_is_published(local_lake, tmp_path):
        path = tmp_path / "2024-25.csv"
        path.write_text("Date,Team 1,FT,HT,Team 2\\nSat Aug 17 2024,Alpha,2-1,,Beta\\n")
        result = local_lake.drop(path, "matches/my-tests/")
        assert result.outcome == "published", result.reason
        rows = local_lake.rows("refined", "team_matches").to_pylist()
        assert {r["team"] for r in rows} >= {"Alpha", "Beta"}

One lake serves the whole session (it takes about a minute to start: synthesis, deploy,
Spark), so tests share its state: give each test keys and names of its own. Where Java
(local Spark) or Node (CDK synthesis) is missing, the tests that ask for it are skipped
with that reason.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported when a test asks for the lake: every pytest run loads the plugin
    from lakeguard.local import LocalLake

__all__ = ["local_lake"]


def _missing_tools() -> list[str]:
    return [f"{tool} ({why})" for tool, why in (("java", "local Spark for the Glue jobs"),
                                                ("node", "CDK synthesis"))
            if shutil.which(tool) is None]


@pytest.fixture(scope="session")
def local_lake() -> Iterator[LocalLake]:
    """A deployed lakeguard on the embedded AWS, started once per test session."""
    from lakeguard.local import LocalLake

    missing = _missing_tools()
    if missing:
        pytest.skip(f"the embedded lake needs {' and '.join(missing)} on PATH")
    lake = LocalLake().start(progress=lambda line: print(f"-- local_lake: {line}",
                                                         file=sys.stderr, flush=True))
    try:
        yield lake
    finally:
        lake.stop()
