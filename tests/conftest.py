"""Fixtures every tier shares."""

import os

import pytest

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
