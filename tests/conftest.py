"""Fixtures every tier shares, and how ``make test`` splits the suite between its workers."""

import os
from pathlib import Path

import pytest

#: Tiers whose tests share one costly session fixture: all on one worker, so that each is
#: built once (the Spark session; the synthesized dev and prod templates).
_ONE_WORKER = ("spark", "infra")

#: Variables the command line sets for its own process (``--region``, ``--profile``): a test
#: that calls ``main`` in-process must not leave them to the tests after it.
_CLI_ENVIRONMENT = ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION")


@pytest.fixture(autouse=True)
def _restore_cli_environment():
    # by hand: monkeypatch records nothing for a variable that was not set
    before = {name: os.environ.get(name) for name in _CLI_ENVIRONMENT}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_xdist_make_scheduler(config, log):
    """How ``make test`` shares the suite between its two workers (pytest-xdist).

    By scope (:func:`worker_scope`), handed out in the collection's order (unit,
    functional, Spark, CDK, end to end; ``--no-loadscope-reorder``): a worker runs its tests
    in the order it got them, so no unit test runs in a worker after that worker's embedded
    lake set its endpoint in the environment.
    """
    from xdist.scheduler import LoadScopeScheduling

    class ByScope(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return worker_scope(nodeid)

    return ByScope(config, log)


def worker_scope(nodeid: str) -> str:
    """The tests that must run on one worker: a tier sharing one costly session fixture
    (the Spark session; the synthesized templates), or an end-to-end file, whose module
    fixtures drop whole corpora into that worker's lake once for all its tests. Any other
    test is a scope of its own, for whichever worker is free."""
    path = nodeid.split("::", 1)[0]
    tier = Path(path).parts[1] if len(Path(path).parts) > 2 else ""
    if tier in _ONE_WORKER:
        return tier
    return path if tier == "e2e" else nodeid
