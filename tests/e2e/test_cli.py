"""The CLI as a user runs it: `lakeguard local run ... --export DIR`, then `lakeguard query --local DIR`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"


def _lakeguard(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lakeguard.cli", *args], capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})}, timeout=900)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if shutil.which("java") is None or shutil.which("node") is None:
        pytest.skip("the embedded lake needs Java (local Spark) and Node (CDK synth)")
    folder = tmp_path_factory.mktemp("cli")
    drop = folder / "drop"  # a folder of good and bad files, as a producer would send them
    drop.mkdir()
    shutil.copy(SEASONS / "2000-01_fr.1.csv", drop)
    bad = drop / "broken_fr.1.csv"
    bad.write_text("Date,Team 1,HT,Team 2\nSun Aug 11 1996,Bastia,1-0,Rennes\n")  # no FT
    out = folder / "export"
    # A port of its own: the session's embedded lake may be running on the default one.
    done = _lakeguard("local", "run", "--dataset", "matches", str(drop), "--export", str(out),
                      env={"LAKEGUARD_LOCAL_PORT": "5077"})
    return done, out


def test_local_run_reports_each_file_and_exits_non_zero_when_one_is_quarantined(exported):
    done, out = exported
    assert done.returncode == 1, done.stderr[-2000:]
    assert "1 published, 1 quarantined" in done.stdout
    assert "2000-01_fr.1.csv" in done.stdout and "ValidationFailed" in done.stdout
    summary = {r["file"]: r for r in json.loads((out / "summary.json").read_text())}
    assert summary["2000-01_fr.1.csv"]["outcome"] == "published"
    assert summary["broken_fr.1.csv"]["outcome"] == "quarantined"
    assert "missing required column" in summary["broken_fr.1.csv"]["reason"]
    for zone in ("raw", "clean", "refined", "quarantine"):
        assert (out / zone).is_dir()


def test_ledger_check_on_the_export_reports_nothing_unaccounted(exported):
    _, out = exported
    done = _lakeguard("ledger", "check", "--local", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unaccounted:         0" in done.stdout and "quarantined:         1" in done.stdout
    listed = _lakeguard("ledger", "--local", str(out), "--json", "--state", "quarantined")
    assert [e["key"] for e in json.loads(listed.stdout)] == ["matches/broken_fr.1.csv"]


def test_query_answers_from_the_export_in_athena_sql(exported):
    _, out = exported
    done = _lakeguard("query", "--local", str(out), "--format", "json",
                      "SELECT season, count(*) AS n FROM refined.team_matches GROUP BY season")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"season": "2000-01", "n": 612}]


def test_demo_prints_marseille_anomalies_and_writes_the_report(tmp_path):
    if shutil.which("java") is None or shutil.which("node") is None:
        pytest.skip("the embedded lake needs Java (local Spark) and Node (CDK synth)")
    # GIVEN the demo pointed at two of the bundled seasons (the full run is `make demo`)
    data = tmp_path / "seasons"
    data.mkdir()
    for name in ("1995-96_fr.1.csv", "1996-97_fr.1.csv"):
        shutil.copy(SEASONS / name, data / name)
    out = tmp_path / "demo-out"
    # WHEN the demo runs
    done = _lakeguard("demo", "--data", str(data), "--out", str(out),
                      env={"LAKEGUARD_LOCAL_PORT": "5079"})
    # THEN it exits 0, lists the 8-0 defeat at Lyon, and leaves the report behind
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("1997-05-24"))
    assert line.split()[:6] == ["1997-05-24", "1996-97", "away", "Lyon", "0-8", "-8"]
    assert (out / "marseille_net_goals.png").stat().st_size > 10_000
    assert "0-8" in (out / "report.html").read_text()
