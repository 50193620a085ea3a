"""The model registry on both stores: an exported folder and S3 (moto, in process)."""

import json

import boto3
import numpy as np
import pytest
from moto import mock_aws

from lakeguard.cli import main
from lakeguard.exceptions import ModelError
from lakeguard.ml import detectors, registry
from lakeguard.ml.store import ConflictError, FolderStore, S3Store


def _version(values, entity="Alpha", params=None):
    model = detectors.fit("quantile_band", np.asarray(values, dtype=float), params or {})
    return registry.ModelVersion("matches", entity, "quantile_band", model.to_json(), 0,
                                 f"digest-of-{len(values)}")


@pytest.fixture
def store(tmp_path):
    (tmp_path / "artefacts").mkdir()
    return FolderStore(tmp_path / "artefacts")


def test_same_inputs_and_seed_give_a_byte_identical_model_and_the_same_version(store, tmp_path):
    history = np.random.default_rng(3).normal(size=200)
    first = registry.register(store, _version(history), {"execution": {"run_id": "r1"}})
    doc = (tmp_path / f"artefacts/models/matches/Alpha/versions/{first}.json").read_bytes()
    again = registry.register(store, _version(history.copy()), {"execution": {"run_id": "r2"}})
    assert again == first
    assert (tmp_path / f"artefacts/models/matches/Alpha/versions/{first}.json").read_bytes() == doc
    # the lineage keeps the run that first produced the version
    assert registry.lineage(store, "matches", "Alpha", first)["execution"]["run_id"] == "r1"
    other = registry.register(store, _version(history[:150]), {})
    assert other != first


def test_version_round_trips_and_scores_identically(store):
    version = registry.register(store, _version(range(100)), {})
    loaded = registry.get(store, "matches", "Alpha", version)
    model = detectors.load(loaded.detector, json.loads(json.dumps(loaded.model)))
    assert model.score(np.array([150.0])).is_anomaly.tolist() == [True]


def test_promote_and_rollback_move_the_champion_and_record_why(store):
    v1 = registry.register(store, _version(range(100)), {})
    v2 = registry.register(store, _version(range(50, 150)), {})
    registry.promote(store, "matches", "Alpha", v1, "first model of this entity")
    registry.set_alias(store, "matches", "Alpha", registry.CHALLENGER, v2, "lost on held-out data")
    assert registry.promote(store, "matches", "Alpha") == v2  # the challenger by default
    marks = registry.aliases(store, "matches", "Alpha")
    assert marks[registry.CHAMPION] == v2 and marks[registry.CHALLENGER] is None
    assert registry.rollback(store, "matches", "Alpha") == v1
    marks = registry.aliases(store, "matches", "Alpha")
    assert marks[registry.CHAMPION] == v1
    assert [e["reason"] for e in marks["events"]][-1] == "rolled back by hand"
    assert [e["previous"] for e in marks["events"] if e["alias"] == "champion"] == [None, v1, v2]


def test_rollback_without_an_earlier_champion_and_unknown_versions_are_refused(store):
    v1 = registry.register(store, _version(range(100)), {})
    registry.promote(store, "matches", "Alpha", v1)
    with pytest.raises(ModelError, match="no earlier champion"):
        registry.rollback(store, "matches", "Alpha")
    with pytest.raises(ModelError, match="no model version deadbeef"):
        registry.promote(store, "matches", "Alpha", "deadbeef")


@mock_aws
def test_s3_alias_writes_are_conditional():
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="art", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    store = S3Store("art", boto3.session.Session(region_name="eu-west-1"))
    v1 = registry.register(store, _version(range(100)), {})
    registry.promote(store, "matches", "Alpha", v1)
    _, tag = store.get("models/matches/Alpha/aliases.json")
    store.put("models/matches/Alpha/aliases.json", {"champion": None, "challenger": None,
                                                    "events": []}, if_tag=tag)
    with pytest.raises(ConflictError):  # a writer holding the old tag loses
        store.put("models/matches/Alpha/aliases.json", {}, if_tag=tag)
    assert store.put("models/matches/Alpha/lineage/x.json", {"a": 1}, if_absent=True)
    assert not store.put("models/matches/Alpha/lineage/x.json", {"a": 2}, if_absent=True)
    assert registry.entities(store) == [("matches", "Alpha")]


def test_models_cli_lists_shows_promotes_and_rolls_back(store, tmp_path, capsys):
    v1 = registry.register(store, _version(range(100)), {"trigger": "no_champion",
                                                        "training": {"rows": 100}})
    v2 = registry.register(store, _version(range(50, 150)), {"trigger": "drift", "parent": v1})
    registry.promote(store, "matches", "Alpha", v1)
    registry.set_alias(store, "matches", "Alpha", registry.CHALLENGER, v2, "lost")
    local = ["--local", str(tmp_path)]
    assert main(["models", "list", *local, "--format", "json"]) == 0
    rows = {r["version"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[v1]["aliases"] == "champion" and rows[v1]["rows"] == 100
    assert rows[v2]["aliases"] == "challenger" and rows[v2]["parent"] == v1
    assert main(["models", "show", *local, "--dataset", "matches", "--entity", "alpha",
                 "--version", "challenger"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == v2 and shown["lineage"]["trigger"] == "drift"
    assert main(["models", "promote", *local, "--dataset", "matches", "--entity", "Alpha"]) == 0
    assert f"champion is now {v2}" in capsys.readouterr().out
    assert main(["models", "rollback", *local, "--dataset", "matches", "--entity", "Alpha"]) == 0
    assert registry.aliases(store, "matches", "Alpha")["champion"] == v1
    assert main(["models", "list", "--local", str(tmp_path / "nowhere")]) == 2
    capsys.readouterr()
    assert main(["models", "list", *local, "--entity", "Nobody"]) == 2
    assert "no entity with a model 'Nobody' (known: Alpha)" in capsys.readouterr().err


def test_a_remembered_version_is_a_copy_and_a_wrong_one_is_not_remembered(store, tmp_path):
    # GIVEN a registered version, read once
    version = registry.register(store, _version(np.arange(50.0)), {})
    first = registry.get(store, "matches", "Alpha", version)
    # WHEN a caller changes what it was handed THEN the next reader gets the stored model
    first.model["params"]["tampered"] = True
    assert "tampered" not in registry.get(store, "matches", "Alpha", version).model["params"]
    # GIVEN a document under another version's key whose bytes are not that id
    registry.VERSIONS.clear()
    path = tmp_path / f"artefacts/models/matches/Alpha/versions/{version}.json"
    right = path.read_text("utf-8")
    path.write_text(right.replace('"seed": 0', '"seed": 1'), "utf-8")
    assert registry.get(store, "matches", "Alpha", version).seed == 1
    # THEN it was not remembered: once the key holds the version again, that is read
    path.write_text(right, "utf-8")
    assert registry.get(store, "matches", "Alpha", version).seed == 0


def test_the_training_reference_of_a_lineage_without_metrics_names_the_fix(store):
    version = registry.register(store, _version(np.arange(50.0)), {})
    with pytest.raises(ModelError, match=r"no training metrics.*retrain"):
        registry.training_reference(store, "matches", "Alpha", version)


@pytest.mark.parametrize("first_write", [True, False])
def test_a_move_on_aliases_read_before_another_writer_moved_them_keeps_both(store, first_write):
    # GIVEN the aliases of an entity as read before training (never written yet, or written)
    one, two, three = (registry.register(store, _version(np.arange(n, dtype=float)), {})
                       for n in (40, 60, 80))
    if not first_write:
        registry.set_alias(store, "matches", "Alpha", registry.CHAMPION, one, "earlier")
    known = registry.marks(store, "matches", "Alpha")
    # WHEN another writer moves them meanwhile, then this one promotes on what it read
    registry.set_alias(store, "matches", "Alpha", registry.CHALLENGER, two, "other writer")
    registry.promote(store, "matches", "Alpha", three, "this writer", known)
    # THEN this move was made on top of the other writer's, which is kept
    marks = registry.aliases(store, "matches", "Alpha")
    assert marks[registry.CHAMPION] == three and marks[registry.CHALLENGER] == two
    assert [e["reason"] for e in marks["events"]][-2:] == ["other writer", "this writer"]
