"""The deploy preflight, tried against the embedded AWS the way the README runs it."""

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.doctor import BOOTSTRAP_PARAMETER

pytestmark = [pytest.mark.e2e]


def test_doctor_passes_on_the_deployed_lake_and_names_a_missing_bootstrap(lake, capsys):
    assert main(["doctor", "--env", "dev"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1].rstrip(":") for line in lines[:5]] == [
        "credentials", "region", "bootstrap", "concurrency", "layer"]
    assert all(line.startswith("ok ") for line in lines[:5]) and "ready to deploy dev" in lines[-1]

    ssm = client("ssm")
    version = ssm.get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"]
    ssm.delete_parameter(Name=BOOTSTRAP_PARAMETER)
    try:
        assert main(["doctor", "--env", "dev"]) == 1
    finally:
        ssm.put_parameter(Name=BOOTSTRAP_PARAMETER, Value=version, Type="String")
    out = capsys.readouterr().out
    (failure,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failure.startswith("FAIL  bootstrap:") and "cdk bootstrap" in failure


def test_teardown_refuses_an_environment_that_retains_its_data(lake, capsys):
    assert main(["teardown", "--env", "prod", "--yes"]) == 2
    assert "retains its data" in capsys.readouterr().err
