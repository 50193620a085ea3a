"""The persistent embedded lake, driven as a user drives it from a shell: `local up` on a free
port, `local run` and `query --lake` against it, `local down` saving its state, and a second
`up` that restores it so that `ledger check` and the same query still hold."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASON = "2019-20_fr.1.csv"
COUNT_SQL = "SELECT count(*) AS n FROM refined.team_matches"


def lakeguard(*argv, env=None, check=True):
    """Run the command line in a process of its own, as a shell would."""
    done = subprocess.run([sys.executable, "-m", "lakeguard.cli", *argv], capture_output=True,
                          text=True, timeout=900, env=env or dict(os.environ), check=False)
    if check:
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    return done


def _exports(state):
    """The environment `eval "$(lakeguard local env)"` gives a shell."""
    lines = lakeguard("local", "env", "--state-dir", state).stdout.splitlines()
    return {**os.environ, **dict(line.removeprefix("export ").split("=", 1) for line in lines)}


@pytest.fixture(scope="module")
def state(tmp_path_factory, lake):  # after the session's lake: both must not share a port
    folder = str(tmp_path_factory.mktemp("persistent") / "state")
    yield folder
    lakeguard("local", "down", "--state-dir", folder, check=False)


@pytest.fixture(scope="module")
def first_up(state):
    up = json.loads(lakeguard("local", "up", "--state-dir", state, "--format", "json").stdout)
    season = os.path.join(os.path.dirname(__file__), "..", "..", "data", "football", "ligue1",
                          SEASON)
    run = lakeguard("local", "run", "--state-dir", state, "--dataset", "matches", season,
                    "--format", "json")
    return up, json.loads(run.stdout)


def test_up_listens_on_a_free_port_and_status_says_so(state, first_up):
    up, _ = first_up
    assert up["port"] > 0 and up["endpoint"].endswith(f":{up['port']}")
    status = json.loads(lakeguard("local", "status", "--state-dir", state, "--format",
                                  "json").stdout)
    assert status["pid"] == up["pid"]
    again = lakeguard("local", "up", "--state-dir", state)  # a second up finds it
    assert "already up" in again.stdout


def test_local_run_and_query_work_against_the_running_lake(state, first_up):
    _, runs = first_up
    assert [r["outcome"] for r in runs] == ["published"]
    answer = lakeguard("query", "--lake", "--state-dir", state, "--format", "json", COUNT_SQL)
    assert json.loads(answer.stdout) == [{"n": 558}]  # 2019-20 stopped after 279 matches
    env = _exports(state)
    assert lakeguard("ledger", "check", env=env).stdout.rstrip().endswith(
        "every raw object version is accounted for")


def test_down_saves_the_state_and_up_restores_it(state, first_up):
    lakeguard("local", "down", "--state-dir", state)
    assert lakeguard("local", "status", "--state-dir", state, check=False).returncode == 1
    saved = os.path.join(state, "saved")
    assert lakeguard("ledger", "check", "--local", saved).returncode == 0
    lakeguard("local", "up", "--state-dir", state)
    answer = lakeguard("query", "--lake", "--state-dir", state, "--format", "json", COUNT_SQL)
    assert json.loads(answer.stdout) == [{"n": 558}]  # 2019-20 stopped after 279 matches
    checked = json.loads(lakeguard("ledger", "check", "--format", "json",
                                   env=_exports(state)).stdout)
    assert checked["ok"] and checked["published"] == 1


def test_commands_say_when_no_lake_is_up(tmp_path):
    nothing = str(tmp_path / "none")
    assert lakeguard("local", "status", "--state-dir", nothing, check=False).returncode == 1
    env = lakeguard("local", "env", "--state-dir", nothing, check=False)
    assert env.returncode == 3 and "lakeguard local up" in env.stderr
    query = lakeguard("query", "--lake", "--state-dir", nothing, "SELECT 1", check=False)
    assert query.returncode != 0 and "lakeguard local up" in query.stderr
