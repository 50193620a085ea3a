"""The model stages through their handlers: CheckModel, Train, Score, then Publish.

They read the refined table's committed history (Iceberg), so they run on the moto server
lake, like Publish. Each season's Refine hand-off is staged by the Arrow refine function.
"""

import dataclasses

import pyarrow.compute as pc
import pytest

from lakeguard.ml import registry
from lakeguard.ml.store import S3Store
from lakeguard.s3io import read_parquet
from lakeguard.tables import read_table
from tests.functional.conftest import DATA, Lake, Request, model_stages, through_refine

#: Two consecutive seasons: 20 teams each, some relegated and promoted in between.
FIRST, SECOND = sorted((DATA / "football" / "ligue1").glob("*_fr.1.csv"))[:2]


@pytest.fixture
def lake(served_lake: Lake) -> Lake:
    return served_lake


def _season(lake: Lake, path) -> dict:
    return through_refine(lake, f"matches/{path.name}", path.read_bytes())


def test_a_first_season_trains_a_champion_per_team_and_scores_its_matches(lake: Lake):
    # GIVEN the first season of a lake, refined: no team has a model yet
    # WHEN the model stages run
    state = model_stages(_season(lake, FIRST))
    # THEN each of the 20 teams was trained for want of a champion, and became one
    asked = state["model_check"]["train"]
    assert len(asked) == 20 and {r["trigger"] for r in asked} == {"no_champion"}
    assert state["model_check"]["drift"] == {}
    trained = state["train"]["trained"]
    assert [t["entity"] for t in trained] == [r["entity"] for r in asked]
    assert {t["alias"] for t in trained} == {"champion"}
    assert any(k.startswith("models/matches/") for k in lake.keys("artefacts"))
    # and each match was scored twice (once per team), into staged anomalies
    assert state["score"]["rows"] == 760 and state["score"]["unscored_entities"] == []
    assert 0 < state["score"]["anomalies"] < 760
    # WHEN Publish runs THEN the anomalies table holds those points, from this run
    Lake.invoke("publish", state)
    anomalies = read_table(lake.settings, "refined", "anomalies")
    assert anomalies.num_rows == 760
    assert sum(anomalies["is_anomaly"].to_pylist()) == state["score"]["anomalies"]
    assert set(anomalies["run_id"].to_pylist()) == {state["run_id"]}


def test_the_next_season_is_checked_against_the_champions(lake: Lake):
    # GIVEN a first season published with its models
    first = model_stages(_season(lake, FIRST))
    Lake.invoke("publish", first)
    # WHEN the next season is checked
    state = _season(lake, SECOND)
    check = Lake.invoke("check_model", state)
    # THEN promoted teams are trained for want of a champion; the others are checked for
    # drift over their 38 matches and retrained exactly when a reason was found
    before = {t["entity"] for t in first["train"]["trained"]}
    triggers = {r["entity"]: r["trigger"] for r in check["train"]}
    promoted = {e for e, t in triggers.items() if t == "no_champion"}
    teams = {line.split(",")[1] for line in SECOND.read_text().splitlines()[1:]}
    assert promoted and not promoted & before
    assert set(check["drift"]) == teams & before and set(check["drift"]) | promoted == teams
    assert all(d["points"] == 38 for d in check["drift"].values())
    assert {e for e, d in check["drift"].items() if d["reasons"]} == \
        {e for e, t in triggers.items() if t == "drift"}


def test_looking_up_champions_a_few_at_once_answers_as_one_at_a_time(lake: Lake, monkeypatch):
    # GIVEN a first season published with its models, and the next season refined
    first = model_stages(_season(lake, FIRST))
    Lake.invoke("publish", first)
    state = _season(lake, SECOND)
    # WHEN CheckModel and Score look up the champions one entity at a time, then 8 at once
    answers = []
    for threads in (1, 8):
        monkeypatch.setattr("lakeguard.config.MODEL_ENTITY_THREADS", threads)
        answers.append((Lake.invoke("check_model", state), Lake.invoke("score", state)))
    # THEN they answer alike: the same teams to train, drift figures, scores and anomalies
    assert answers[0] == answers[1]
    check, scored = answers[0]
    assert check["drift"] and any(r["trigger"] == "no_champion" for r in check["train"])
    assert scored["rows"] > 0 and scored["unscored_entities"]


def _models_read(requests: list[Request]) -> list[str]:
    """The registry documents read, by the end of their key (``aliases.json``...)."""
    return [r.path.rsplit("/", 2)[-2] if not r.path.endswith("aliases.json") else "aliases"
            for r in requests if r.method == "GET" and "/models/" in r.path]


def test_a_warm_check_and_score_read_only_the_aliases(lake: Lake,
                                                      server_requests: list[Request]):
    # GIVEN a first season published with its models, and the next season refined, checked
    # and scored once by this process (as by a warm Lambda environment)
    first = model_stages(_season(lake, FIRST))
    Lake.invoke("publish", first)
    state = _season(lake, SECOND)
    answers = Lake.invoke("check_model", state), Lake.invoke("score", state)
    # WHEN both run again
    server_requests.clear()
    again = Lake.invoke("check_model", state), Lake.invoke("score", state)
    # THEN they answer alike, reading of the registry only each team's aliases (the model
    # versions and their lineage, written once, were three reads a team, then two)
    assert again == answers
    read = _models_read(server_requests)
    assert read and set(read) == {"aliases"}


def test_a_champion_moved_after_its_version_was_remembered_is_the_one_used(lake: Lake):
    # GIVEN a first season published with its models, and the next season checked and
    # scored once by this process: the champions' versions and lineage are remembered
    first = model_stages(_season(lake, FIRST))
    Lake.invoke("publish", first)
    state = _season(lake, SECOND)
    check = Lake.invoke("check_model", state)
    team = sorted(check["drift"])[0]
    Lake.invoke("score", state)
    # WHEN another execution registers a new version of one team's model (another seed, a
    # training yardstick no point of this season falls in) and makes it the champion
    store = S3Store(lake.settings.artefacts_bucket)
    old = registry.resolve(store, "matches", team, registry.CHAMPION)
    assert old is not None
    new = dataclasses.replace(old, seed=old.seed + 1)
    training = {"distribution": {"edges": [1000.0], "shares": [0.0, 1.0]}, "alert_rate": 0.5}
    registry.register(store, new, {"metrics": {"training": training}})
    registry.promote(store, "matches", team, new.version, "promoted by another execution")
    # THEN CheckModel judges the team against the new champion's yardstick, not the old one
    moved = Lake.invoke("check_model", state)
    assert moved["drift"][team]["psi"] > check["drift"][team]["psi"]
    assert moved["drift"][team]["reasons"] and team in {r["entity"] for r in moved["train"]}
    # and Score scores the team's matches with the new champion
    scored = read_parquet(Lake.invoke("score", state)["outputs"])
    versions = set(scored.filter(pc.equal(scored["entity"], team))["model_version"].to_pylist())
    assert versions == {new.version} != {old.version}
