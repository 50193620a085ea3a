"""The model stages through their handlers: CheckModel, Train, Score, then Publish.

They read the refined table's committed history (Iceberg), so they run on the moto server
lake, like Publish. Each season's Refine hand-off is staged by the Arrow refine function.
"""

import pytest

from lakeguard.tables import read_table
from tests.functional.conftest import DATA, Lake, model_stages, through_refine

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
