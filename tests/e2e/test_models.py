"""The model lifecycle on the embedded AWS: first champion, drift, a losing challenger kept
aside, a winning one promoted, lineage, CloudWatch metrics and the ``models`` CLI.

Fictional teams keep these models apart from the real seasons other tests drop.
"""

import datetime as dt
import json

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.config import MODEL_METRICS_NAMESPACE
from lakeguard.ml import registry
from lakeguard.ml.store import S3Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CALM = ["1-0", "0-0", "2-1", "1-2", "0-1", "2-0", "1-1", "0-2"]  # net goals within [-2, 2]
BLOW_OUTS = ["7-0", "0-7"]
SWINGS = ["4-0", "0-4", "5-1", "1-5"]  # Alpha now wins or loses every match by 4


def _season(path, start_year, scores):
    day = dt.date(start_year, 8, 1)
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for i, score in enumerate(scores):
        date = day + dt.timedelta(days=i)
        lines.append(f"{date.strftime('%a %b %d %Y').replace(' 0', ' ')},Alpha,{score},,Beta")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def lifecycle(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lifecycle")
    store = S3Store(lake.bucket("artefacts"))
    steps = {}
    files = [
        # 60 calm matches: Alpha gets its first champion
        ("first", _season(folder / "2010-11_fr.1.csv", 2010, [CALM[i % 8] for i in range(60)])),
        # 30 blow-outs then 30 calm matches: the data drifts, but the last, held-out fifth is
        # calm again, where a band widened by the blow-outs loses to the champion
        ("drift", _season(folder / "2011-12_fr.1.csv", 2011,
                          [BLOW_OUTS[i % 2] for i in range(30)] + [CALM[i % 8] for i in range(30)])),
        # a lasting change: Alpha's matches now swing between big wins and big defeats, which
        # a champion that only knows calm seasons keeps missing, and the challenger wins
        ("shift", _season(folder / "2012-13_fr.1.csv", 2012, [SWINGS[i % 4] for i in range(60)])),
    ]
    for step, path in files:
        result = lake.drop(path, "matches/")
        assert result.outcome == "published", result.reason
        steps[step] = {"result": result, "aliases": registry.aliases(store, "matches", "Alpha")}
    return store, steps


def test_first_file_trains_a_champion_with_full_lineage(lifecycle):
    store, steps = lifecycle
    champion = steps["first"]["aliases"]["champion"]
    info = registry.lineage(store, "matches", "Alpha", champion)
    assert info["trigger"] == "no_champion" and info["parent"] is None
    assert info["training"]["rows"] == 60 and len(info["training"]["digest"]) == 64
    inputs = info["training"]["inputs"]
    assert inputs["table"].endswith(".team_matches") and inputs["run_id"] == steps[
        "first"]["result"].run_id
    assert inputs["schema_hash"] and info["contract"]["name"] == "matches"
    assert "pseudonym_key_version" in info and info["code_version"].startswith("0.")
    assert info["execution"]["run_id"] == steps["first"]["result"].run_id
    assert info["metrics"]["training"]["distribution"]["edges"]


def test_models_show_reads_the_exact_training_rows_back_after_later_publishes(lifecycle, capsys):
    # GIVEN the first champion, trained before two more seasons were published
    _, steps = lifecycle
    champion = steps["first"]["aliases"]["champion"]
    capsys.readouterr()
    # WHEN its input is read back from the snapshots its lineage names
    assert main(["models", "show", "--dataset", "matches", "--entity", "Alpha",
                 "--version", champion, "--input"]) == 0
    shown = json.loads(capsys.readouterr().out)
    # THEN the same 60 rows come back, with the digest the model was fitted on
    assert shown["input"]["rows"] == 60 and shown["input"]["digest_matches"]
    assert shown["input"]["snapshots"]


def test_drift_retrains_but_a_losing_challenger_is_not_promoted(lifecycle):
    store, steps = lifecycle
    first, drift = steps["first"]["aliases"], steps["drift"]["aliases"]
    assert drift["champion"] == first["champion"]
    challenger = drift["challenger"]
    assert challenger and challenger != first["champion"]
    info = registry.lineage(store, "matches", "Alpha", challenger)
    assert info["trigger"] == "drift" and info["parent"] == first["champion"]
    assert any("alert rate" in r or "PSI" in r for r in info["trigger_reasons"])
    evaluation = info["metrics"]["evaluation"]
    assert evaluation["challenger"] >= evaluation["champion"]
    assert "lost on held-out data" in drift["events"][-1]["reason"]


def test_drifted_season_is_scored_by_the_champion_on_every_row(lake, lifecycle):

    _, steps = lifecycle
    rows = sorted((r for r in lake.rows("refined", "anomalies").to_pylist()
                   if r["entity"] == "Alpha" and r["season"] == "2011-12"),
                  key=lambda r: r["ts"])
    assert len(rows) == 60
    assert {r["model_version"] for r in rows} == {steps["drift"]["aliases"]["champion"]}
    blow_out = rows[0]
    assert blow_out["is_anomaly"] and blow_out["alert"] and "above the expected range" in blow_out["reason"]
    assert sum(r["alert"] for r in rows) < sum(r["is_anomaly"] for r in rows)  # debounced


def test_a_lasting_shift_promotes_the_challenger_that_wins(lifecycle):
    store, steps = lifecycle
    shift = steps["shift"]["aliases"]
    assert shift["champion"] != steps["drift"]["aliases"]["champion"]
    info = registry.lineage(store, "matches", "Alpha", shift["champion"])
    assert info["metrics"]["evaluation"]["challenger"] < info["metrics"]["evaluation"]["champion"]
    assert "won on held-out data" in shift["events"][-1]["reason"]


def test_drift_and_alert_rate_reach_cloudwatch(lifecycle):
    pages = client("cloudwatch").get_paginator("list_metrics").paginate(
        Namespace=MODEL_METRICS_NAMESPACE)  # 500 a page: the session's lake has many entities
    metrics = [metric for page in pages for metric in page["Metrics"]]
    alpha = {m["MetricName"] for m in metrics
             if {"Name": "Entity", "Value": "Alpha"} in m["Dimensions"]}
    assert alpha == {"InputPSI", "AlertRate"}


def test_models_cli_lists_the_lineage_from_an_exported_lake(lake, lifecycle, tmp_path, capsys):
    lake.export(tmp_path)
    assert main(["models", "list", "--local", str(tmp_path), "--entity", "Alpha",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["trigger"] for r in rows} == {"no_champion", "drift"}
    assert sum(r["aliases"] == "champion" for r in rows) == 1


def test_the_deployed_retrain_schedule_retrains_reproducibly(lake, lifecycle):
    import time

    store, steps = lifecycle
    scheduler = client("scheduler")
    names = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
    schedule = scheduler.get_schedule(Name=next(n for n in names if n.endswith("-retrain-matches")))
    # WHEN the execution the schedule would start runs (moto stores schedules, never fires them)
    sfn = client("stepfunctions")
    # (named: moto lists unnamed executions without a name, which other tests read)
    arn = sfn.start_execution(stateMachineArn=schedule["Target"]["Arn"], name="retrain-matches",
                              input=schedule["Target"]["Input"])["executionArn"]
    for _ in range(600):
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            break
        time.sleep(0.1)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    trained = {t["entity"]: t for t in json.loads(execution["output"])["train"]["trained"]}
    # THEN the same history gives the same bytes: Alpha's retrain is its champion, unchanged
    champion = steps["shift"]["aliases"]["champion"]
    assert trained["Alpha"]["version"] == champion
    assert registry.aliases(store, "matches", "Alpha")["champion"] == champion


def test_models_cli_promotes_and_rolls_back_on_the_deployed_registry(lifecycle, capsys):
    # the same commands as against a real account: the bucket comes from the stack outputs
    store, _ = lifecycle
    before = registry.aliases(store, "matches", "Alpha")["champion"]
    first = next(v["version"] for v in registry.versions(store, "matches", "Alpha")
                 if v["trigger"] == "no_champion")
    assert main(["models", "promote", "--dataset", "matches", "--entity", "Alpha", "--version", first,
                 "--reason", "e2e: back to the first model"]) == 0
    assert registry.aliases(store, "matches", "Alpha")["champion"] == first
    assert main(["models", "rollback", "--dataset", "matches", "--entity", "Alpha"]) == 0
    assert registry.aliases(store, "matches", "Alpha")["champion"] == before
    assert main(["models", "list", "--entity", "Alpha", "--format", "csv"]) == 0
    assert before in capsys.readouterr().out
