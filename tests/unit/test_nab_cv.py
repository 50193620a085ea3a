"""Leave-one-category-out cross-validation: the fold arithmetic on toy series, the runner and
CLI on a synthetic NAB folder, and the headline claim on the shared NAB extract if present."""

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakeguard.exceptions import BenchmarkError
from lakeguard.ml.detectors import DETECTORS, detector_class
from lakeguard_eval.benchmark import detect, read_folder
from lakeguard_eval.cli import main
from lakeguard_eval.crossval import GRIDS, candidates, cross_validate, label
from lakeguard_eval.nab import AnomalyWindow, CostProfile, load_labels, load_profiles, read_results_folder
from lakeguard_eval.nab.folds import out_of_fold
from lakeguard_eval.nab.scorer import score_swept
from lakeguard_eval.nab.sweep import sweep_series

#: The shared NAB extract: $LAKEGUARD_NAB_DIR (a git worktree sits elsewhere), else ../shared/data/nab.
NAB = Path(os.environ.get("LAKEGUARD_NAB_DIR")
           or Path(__file__).resolve().parents[3] / "shared" / "data" / "nab")
STANDARD = {"standard": CostProfile("standard", 1.0, 0.11, 1.0)}
N = 1000
TIMES = pd.date_range("2024-01-01", periods=N, freq="5min")
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _swept(name, window_at, detected_rows):
    """A toy series with one 50-row window starting at ``window_at`` and 1.0 on ``detected_rows``."""
    scores = np.zeros(N)
    scores[list(detected_rows)] = 1.0
    window = AnomalyWindow(TIMES[window_at], TIMES[window_at + 49])
    return sweep_series(name, TIMES, scores, (window,))


# --- the fold arithmetic -----------------------------------------------------------------------


def test_each_category_is_scored_with_the_candidate_chosen_on_the_others():
    # GIVEN candidate "a" that hits the windows of categories x and y, and "b" that hits
    # only z's: "b" would win on z, but a fold can only choose what wins elsewhere
    names = ("x/1.csv", "y/1.csv", "z/1.csv")
    a = [_swept(n, 400, [410] if n[0] != "z" else [700]) for n in names]
    b = [_swept(n, 400, [700] if n[0] != "z" else [410]) for n in names]
    result = out_of_fold({"a": a, "b": b}, STANDARD)
    # THEN every fold chooses "a", and z is scored with "a", which misses it
    assert [(f.held_out, f.candidate) for f in result.folds] == [("x", "a"), ("y", "a"), ("z", "a")]
    expected = {f.held_out: score_swept(a[i], f.thresholds["standard"], STANDARD["standard"]).score
                for i, f in enumerate(result.folds)}
    assert {f.held_out: f.raw["standard"] for f in result.folds} == expected
    assert expected["z"] < 0 < expected["x"]
    # and the out-of-fold score is the held-out total on NAB's scale (null -3, perfect 3)
    assert result.normalised["standard"] == pytest.approx(100 * (sum(expected.values()) + 3) / 6)
    # while in-sample, the same candidate gets its best threshold on all three series
    assert result.chosen == "a" and result.in_sample["standard"] >= result.normalised["standard"]


def test_a_threshold_is_chosen_on_the_training_folds_only():
    # GIVEN scores that separate the window from a false alarm at 0.9 on x, but at 0.5 on y
    def series(name, hit, alarm):
        scores = np.zeros(N)
        scores[[410, 800]] = hit, alarm
        return sweep_series(name, TIMES, scores, (AnomalyWindow(TIMES[400], TIMES[449]),))

    result = out_of_fold({"only": [series("x/1.csv", 0.9, 0.6), series("y/1.csv", 0.5, 0.4)]},
                         STANDARD)
    # THEN x is judged at y's threshold (0.5: its false alarm counts), y at x's (0.9: missed)
    held = {f.held_out: f for f in result.folds}
    assert held["x"].thresholds["standard"] == pytest.approx(0.5)
    assert held["y"].thresholds["standard"] == pytest.approx(0.9)
    assert held["y"].raw["standard"] == -1.0
    hit_alone = score_swept(series("x/1.csv", 0.9, 0.0), 0.5, STANDARD["standard"]).score
    assert held["x"].raw["standard"] == pytest.approx(hit_alone - 0.11)  # less one false alarm


def test_ties_go_to_the_first_candidate():
    same = [_swept(n, 400, [410]) for n in ("x/1.csv", "y/1.csv")]
    assert out_of_fold({"first": same, "second": same}, STANDARD).chosen == "first"


@pytest.mark.parametrize(("candidates_", "profiles", "message"), [
    ({"a": [_swept("x/1.csv", 400, [410])]}, STANDARD, "two categories"),
    ({"a": [_swept("x/1.csv", 400, [410]), _swept("y/1.csv", 400, [])],
      "b": [_swept("x/1.csv", 400, [410]), _swept("y/2.csv", 400, [])]}, STANDARD, "same series"),
    ({"a": [_swept("x/1.csv", 400, []), _swept("y/1.csv", 400, [])]},
     {"low": CostProfile("low", 1.0, 0.22, 1.0)}, "standard"),
    ({}, STANDARD, "no candidate"),
])
def test_bad_inputs_are_refused_saying_why(candidates_, profiles, message):
    with pytest.raises(BenchmarkError, match=message):
        out_of_fold(candidates_, profiles)


# --- grids --------------------------------------------------------------------------------------


def test_grids_name_real_detectors_and_parameters_and_start_with_the_defaults():
    assert set(GRIDS) == set(DETECTORS)
    for name, grid in GRIDS.items():
        for params in candidates(name):
            DETECTORS[name].fit(np.sin(np.arange(800) / 5.0), params)  # refuses unknown parameters
        assert len(candidates(name)) == math.prod(len(values) for values in grid.values())
    # range_likelihood's defaults are what the cross-validation chose: its grid's first values
    first = candidates("range_likelihood")[0]
    doc = DETECTORS["range_likelihood"].fit(np.arange(50.0), {}).to_json()["params"]
    assert {key: doc[key] for key in first} == first


def test_a_label_is_the_parameters_as_sorted_json():
    assert label({"b": 1, "a": 0.5}) == '{"a":0.5,"b":1}'
    assert candidates("not_a_detector") == [{}]


# --- the runner and the CLI on a synthetic NAB folder -------------------------------------------


def _series(seed, anomaly):
    t = np.arange(N)
    values = 50 + 5 * np.sin(2 * np.pi * t / 48) + np.random.default_rng(seed).normal(0, 0.5, N)
    values[anomaly:anomaly + 5] += 25.0
    return pd.DataFrame({"timestamp": TIMES, "value": values.round(3)})


@pytest.fixture
def nab_root(tmp_path):
    """NAB's layout: data/<category>/<file>.csv, labels, and results/flat/ (a published detector)."""
    labels = {}
    for category, name, seed, anomaly in (("cat_a", "a", 1, 600), ("cat_b", "b", 2, 450),
                                          ("cat_c", "c", 3, 700)):
        frame = _series(seed, anomaly)
        for folder, out in (("data", frame),
                            ("results/flat", frame.assign(anomaly_score=0.5)[["timestamp",
                                                                              "anomaly_score"]])):
            path = tmp_path / folder / category / (f"flat_{name}.csv" if "results" in folder
                                                   else f"{name}.csv")
            path.parent.mkdir(parents=True, exist_ok=True)
            out.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
        labels[f"{category}/{name}.csv"] = [[TIMES[anomaly - 40].strftime(STAMP),
                                             TIMES[anomaly + 40].strftime(STAMP)]]
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "windows.json").write_text(json.dumps(labels))
    return tmp_path


GRID = {"range_likelihood": {"cooldown": (20, 5)}}


def test_cross_validation_runs_every_candidate_and_scores_published_detectors_on_the_same_folds(
        nab_root):
    lines = []
    result = cross_validate(nab_root / "data", nab_root / "labels" / "windows.json",
                            ["range_likelihood"], nab_root / "results", progress=lines.append,
                            workers=1, grids=GRID)
    doc = result.to_json()
    assert doc["files"] == 3 and doc["categories"] == ["cat_a", "cat_b", "cat_c"]
    ours, flat = doc["detectors"]["range_likelihood"], doc["detectors"]["flat"]
    assert not ours["published"] and flat["published"] and flat["chosen_params"] is None
    assert ours["candidates"] == 2 and ours["points"] == 3 * N and ours["seconds"] > 0
    assert [f["held_out"] for f in ours["folds"]] == ["cat_a", "cat_b", "cat_c"]
    assert all(f["params"]["cooldown"] in (20, 5) for f in ours["folds"])
    # the detector finds the planted bursts (out of fold, a held-out burst weaker than the
    # training ones falls under NAB's threshold: ties go to the highest); a constant score
    # finds nothing worth its alarms
    assert ours["in_sample"]["standard"] > 90.0
    assert 0.0 < ours["out_of_fold"]["standard"] <= ours["in_sample"]["standard"]
    assert flat["out_of_fold"]["standard"] <= 0.0
    assert set(ours["out_of_fold"]) == set(load_profiles())
    json.dumps(doc)
    assert sum("range_likelihood [" in line for line in lines) == 2
    assert sum("held out" in line for line in lines) == 3
    table = result.table()
    assert table.index("range_likelihood") < table.index("flat (published)")


def test_worker_processes_give_the_same_result_as_one(nab_root):
    args = (nab_root / "data", nab_root / "labels" / "windows.json", ["range_likelihood"])
    one = cross_validate(*args, workers=1, grids=GRID).to_json()
    two = cross_validate(*args, workers=2, grids=GRID).to_json()
    for doc in (one, two):
        doc["detectors"]["range_likelihood"]["seconds"] = None
    assert one == two


def test_eval_command_nab_cv_finds_the_results_beside_the_data_and_prints_json(nab_root, capsys):
    args = ["nab", "cv", "--data", str(nab_root / "data"), "--labels",
            str(nab_root / "labels" / "windows.json"), "--detector", "quantile_band",
            "--workers", "1"]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert set(doc["detectors"]) == {"quantile_band", "flat"} and doc["wall_seconds"] > 0
    assert "-- quantile_band [1/" in captured.err  # progress goes to stderr
    assert main([*args, "--no-published"]) == 0
    out = capsys.readouterr().out
    assert "quantile_band" in out and "flat" not in out and "no published results" in out


def test_eval_command_nab_cv_needs_two_categories(nab_root, capsys):
    data = nab_root / "data"
    for extra in ("cat_b", "cat_c"):
        shutil.rmtree(data / extra)
    code = main(["nab", "cv", "--data", str(data), "--labels", str(nab_root / "labels" / "windows.json"),
                 "--no-published", "--workers", "1"])
    assert code == 2
    assert "two categories" in capsys.readouterr().err


# --- the headline on the shared NAB extract -----------------------------------------------------


@pytest.mark.skipif(not (NAB / "results" / "numenta").is_dir(), reason=f"no NAB extract at {NAB}")
def test_range_likelihood_defaults_beat_htm_out_of_fold_on_the_same_folds():
    labels, profiles = load_labels(NAB / "labels" / "combined_windows.json"), load_profiles()
    series = read_folder(NAB / "data")
    cls = detector_class("range_likelihood")
    ours = [sweep_series(s.name, s.timestamps, detect(cls, cls.name, {}, s), labels.for_series(s.name))
            for s in series]
    htm = read_results_folder(NAB / "results" / "numenta")
    theirs = [sweep_series(s.name, *htm[s.name], labels.for_series(s.name)) for s in series]
    mine, numenta = out_of_fold({"defaults": ours}, profiles), out_of_fold({"htm": theirs}, profiles)
    assert len(mine.folds) == 5
    assert mine.normalised["standard"] > numenta.normalised["standard"]
