"""The causal NAB runner on a tiny synthetic NAB-layout folder, and on one real series if present."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakeguard.exceptions import LakeguardError
from lakeguard.ml.detectors import DETECTORS
from lakeguard_eval.benchmark import NAB_PARAMS, run_benchmark
from lakeguard_eval.nab import evaluate, load_labels

#: The shared NAB extract: $LAKEGUARD_NAB_DIR (a git worktree sits elsewhere), else ../shared/data/nab.
NAB = Path(os.environ.get("LAKEGUARD_NAB_DIR")
           or Path(__file__).resolve().parents[3] / "shared" / "data" / "nab")
PROFILES = {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _series(seed, anomaly):
    """1000 five-minute points of a noisy cycle with a burst at ``anomaly``."""
    t = np.arange(1000)
    values = 50 + 5 * np.sin(2 * np.pi * t / 48) + np.random.default_rng(seed).normal(0, 0.5, 1000)
    values[anomaly:anomaly + 5] += 25.0
    return pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=1000, freq="5min"),
                         "value": values.round(3)})


@pytest.fixture
def nab_folder(tmp_path):
    """``data/synthetic/{a,b}.csv`` and their labels: one window around each planted burst."""
    labels = {}
    for name, seed, anomaly in (("a", 1, 600), ("b", 2, 450)):
        frame = _series(seed, anomaly)
        path = tmp_path / "data" / "synthetic" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
        stamps = frame["timestamp"]
        labels[f"synthetic/{name}.csv"] = [[stamps[anomaly - 40].strftime(STAMP),
                                            stamps[anomaly + 40].strftime(STAMP)]]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    return tmp_path


def test_runs_every_detector_on_every_file_and_reports_nab_scores(nab_folder):
    lines = []
    result = run_benchmark(nab_folder / "data", nab_folder / "labels.json", progress=lines.append)
    doc = result.to_json()
    assert set(doc) == {"detectors", "files"} and doc["files"] == 2
    assert list(doc["detectors"]) == list(DETECTORS)
    for scores in doc["detectors"].values():
        assert set(scores) == PROFILES and all(isinstance(v, float) for v in scores.values())
    json.dumps(doc)
    assert len(lines) == len(DETECTORS) * 2 and "synthetic/a.csv" in lines[0]
    assert not any(d.published for d in result.detectors)
    assert all(d.points == 2000 and d.seconds is not None for d in result.detectors)


def test_a_detector_that_catches_the_bursts_beats_the_null_baseline(nab_folder):
    labels = load_labels(nab_folder / "labels.json")
    silent = {f"synthetic/{n}.csv": (pd.date_range("2024-01-01", periods=1000, freq="5min"),
                                     np.zeros(1000)) for n in "ab"}
    null = evaluate(silent, labels).to_json()["normalised"]["standard"]
    result = run_benchmark(nab_folder / "data", nab_folder / "labels.json",
                           detectors=["forecast_likelihood"])
    score = result.to_json()["detectors"]["forecast_likelihood"]["standard"]
    assert null == 0.0
    assert score > 90.0 > null  # both bursts found at the start of their windows, no false alarm


def test_table_lists_detectors_best_first_with_one_column_per_profile(nab_folder):
    result = run_benchmark(nab_folder / "data", nab_folder / "labels.json")
    lines = result.table().splitlines()
    assert "2 file(s) of synthetic" in lines[0]
    assert lines[1].split() == ["detector", "standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    rows = [line.split() for line in lines[3:]]
    standard = [float(row[1]) for row in rows]
    assert standard == sorted(standard, reverse=True)
    assert {row[0] for row in rows} == set(DETECTORS)


def test_benchmark_params_name_real_detectors_and_parameters():
    for name, params in NAB_PARAMS.items():
        DETECTORS[name].fit(np.sin(np.arange(800) / 5.0), params)


def test_a_file_without_labels_is_refused_naming_it(nab_folder):
    extra = nab_folder / "data" / "synthetic" / "c.csv"
    shutil.copy(nab_folder / "data" / "synthetic" / "a.csv", extra)
    with pytest.raises(LakeguardError, match=r"synthetic/c\.csv"):
        run_benchmark(nab_folder / "data", nab_folder / "labels.json", detectors=["quantile_band"])


def test_a_file_with_bad_columns_is_refused_naming_it(nab_folder):
    path = nab_folder / "data" / "synthetic" / "b.csv"
    pd.read_csv(path).rename(columns={"value": "reading"}).to_csv(path, index=False)
    with pytest.raises(LakeguardError, match=r"b\.csv has no value column"):
        run_benchmark(nab_folder / "data", nab_folder / "labels.json", detectors=["quantile_band"])


def test_a_non_numeric_value_is_refused_naming_file_and_row(nab_folder):
    path = nab_folder / "data" / "synthetic" / "a.csv"
    frame = pd.read_csv(path, dtype={"value": str})
    frame.loc[3, "value"] = "oops"
    frame.to_csv(path, index=False)
    with pytest.raises(LakeguardError, match=r"a\.csv: row 4 has value 'oops'"):
        run_benchmark(nab_folder / "data", nab_folder / "labels.json", detectors=["quantile_band"])


def test_a_file_outside_nab_layout_is_refused(nab_folder):
    shutil.copy(nab_folder / "data" / "synthetic" / "a.csv", nab_folder / "data" / "loose.csv")
    with pytest.raises(LakeguardError, match=r"loose\.csv is not in NAB's layout"):
        run_benchmark(nab_folder / "data", nab_folder / "labels.json", detectors=["quantile_band"])


def test_an_unknown_detector_is_refused(nab_folder):
    with pytest.raises(LakeguardError, match="no detector 'htm'"):
        run_benchmark(nab_folder / "data", nab_folder / "labels.json", detectors=["htm"])


@pytest.mark.skipif(not (NAB / "results").is_dir(), reason=f"NAB data not found at {NAB}")
def test_published_detectors_are_scored_on_the_same_files(tmp_path):
    # GIVEN one short real series in NAB layout and NAB's published results folder
    data = tmp_path / "data" / "realKnownCause"
    data.mkdir(parents=True)
    shutil.copy(NAB / "data" / "realKnownCause" / "rogue_agent_key_hold.csv", data)
    lines = []
    result = run_benchmark(tmp_path / "data", NAB / "labels" / "combined_windows.json",
                           detectors=["forecast_likelihood"], published=NAB / "results",
                           profiles=NAB / "config" / "profiles.json", progress=lines.append)
    # THEN every published detector with per-file results sits beside ours, marked as published
    published = sorted(p.name for p in (NAB / "results").iterdir()
                       if any(p.glob(f"*/{p.name}_*.csv")))
    doc = result.to_json()
    assert doc["files"] == 1
    assert set(doc["detectors"]) == {"forecast_likelihood", *published}
    assert {"numenta", "randomCutForest"} <= set(published)
    assert sorted(d.name for d in result.detectors if d.published) == published
    assert all(set(scores) == PROFILES for scores in doc["detectors"].values())
    assert "numenta (published)" in result.table()
    assert any(line.startswith("numenta (published)") for line in lines)


def test_lakeguard_eval_nab_cli_prints_one_json_object_and_a_table(nab_folder, capsys):
    from lakeguard_eval.cli import main

    args = ["nab", "--data", str(nab_folder / "data"), "--labels", str(nab_folder / "labels.json"),
            "--detector", "forecast_likelihood", "--detector", "quantile_band"]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"] == 2 and set(doc["detectors"]) == {"forecast_likelihood", "quantile_band"}
    assert doc["detectors"]["forecast_likelihood"]["standard"] > 90.0
    assert main(args) == 0
    printed = capsys.readouterr()  # progress on stderr, the table on stdout
    assert "-- quantile_band: synthetic/a.csv" in printed.err and "forecast_likelihood" in printed.out
    assert main(["nab", "--data", str(nab_folder / "data")]) == 2  # --labels missing
