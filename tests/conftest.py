"""Fixtures every tier shares, and how ``make test`` splits the suite between its workers."""

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
#: Tiers whose tests share one costly session fixture: all on one worker, so that each is
#: built once (the Spark session; the synthesized dev and prod templates).
_ONE_WORKER = ("spark", "infra")
#: Under xdist, the order groups are handed out in: longest first.
_WORKER_ORDER = {"spark": 0, "infra": 1, "e2e": 2}

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


def pytest_collection_modifyitems(config, items):
    """Group and order the tests for ``make test``'s two workers (``--dist loadgroup``).

    An end-to-end file stays on one worker, as its module fixtures drop whole corpora into
    the lake once for all its tests; each worker starts its own embedded lake. Under xdist
    the long groups go first and the unit and functional tests last, to fill whichever
    worker finishes first; run plainly, the suite keeps its order and the marks do nothing.
    """
    def tier(item):
        return Path(item.fspath).relative_to(TESTS).parts[0]

    for item in items:
        if tier(item) == "e2e":
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
        elif tier(item) in _ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(tier(item)))
    if hasattr(config, "workerinput"):  # a worker: every worker sorts alike, as xdist needs
        items.sort(key=lambda item: _WORKER_ORDER.get(tier(item), len(_WORKER_ORDER)))
