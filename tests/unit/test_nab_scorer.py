"""NAB scoring: reproduces the published per-file scores, and its rules one by one on toy series.

The reproduction tests need the NAB extract in ../shared/data/nab and skip without it; the
synthetic tests always run.
"""

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakeguard.exceptions import BenchmarkError
from lakeguard_eval.cli import main
from lakeguard_eval.nab import (
    AnomalyWindow,
    CostProfile,
    Labels,
    evaluate,
    load_labels,
    load_profiles,
    normalised_score,
    optimise_threshold,
    read_results_folder,
    score_file,
    score_results,
)
from lakeguard_eval.nab.scorer import score_swept
from lakeguard_eval.nab.sweep import first_scored_row, scaled_sigmoid, sweep_series

#: The shared NAB extract: $LAKEGUARD_NAB_DIR (a git worktree sits elsewhere), else ../shared/data/nab.
NAB = Path(os.environ.get("LAKEGUARD_NAB_DIR")
           or Path(__file__).resolve().parents[3] / "shared" / "data" / "nab")
LABELS = NAB / "labels" / "combined_windows.json"
DETECTORS = ("numenta", "randomCutForest", "windowedGaussian")
# Only the reproduction needs the data: a module-level skip would also hide the toy tests.
needs_nab = pytest.mark.skipif(not NAB.is_dir(),
                               reason=f"{NAB} is not here (the shared data folder is optional)")

STANDARD = CostProfile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0)
N = 1000  # toy series length: rows 0-149 are probation
TIMES = pd.date_range("2024-01-01", periods=N, freq="5min")
WINDOW = AnomalyWindow(TIMES[400], TIMES[449])  # 50 rows, well after probation


def _scores(*detected_rows, length=N):
    scores = np.zeros(length)
    scores[list(detected_rows)] = 1.0
    return scores


def _score(*detected_rows, windows=(WINDOW,), profile=STANDARD):
    return score_file(TIMES, _scores(*detected_rows), windows, 0.5, profile)


# --- reproduction of the published scores ----------------------------------------------------


@needs_nab
@pytest.mark.parametrize("detector", DETECTORS)
def test_published_standard_scores_are_reproduced_per_file(detector):
    published = pd.read_csv(NAB / "results" / detector / f"{detector}_standard_scores.csv")
    published = published.set_index("File")
    labels = load_labels(LABELS)
    shipped = sorted(p.relative_to(NAB / "data").as_posix() for p in (NAB / "data").glob("*/*.csv"))
    assert len(shipped) >= 7  # every series the extract holds, whichever they are
    for series in shipped:
        category, file = series.split("/")
        row = published.loc[series]
        results = pd.read_csv(NAB / "results" / detector / category / f"{detector}_{file}",
                              usecols=["timestamp", "anomaly_score"])
        got = score_file(pd.to_datetime(results["timestamp"]), results["anomaly_score"],
                         labels.for_series(series), float(row["Threshold"]), STANDARD, name=series)
        assert got.score == pytest.approx(row["Score"], abs=0.01), series
        assert (got.tp, got.fp, got.fn, got.tn) == (row["TP"], row["FP"], row["FN"], row["TN"]), series


@needs_nab
@pytest.mark.parametrize("detector", DETECTORS)
def test_published_normalised_standard_score_follows_from_published_raw_scores(detector):
    """NAB's final_results.json is 100 * (total - null) / (perfect - null) over all 58 files."""
    def total(name):
        table = pd.read_csv(NAB / "results" / name / f"{name}_standard_scores.csv")
        return table.loc[table["Detector"] != "Totals", "Score"].sum()

    windows = sum(len(pairs) for pairs in json.loads(LABELS.read_text()).values())
    final = json.loads((NAB / "results" / "final_results.json").read_text())
    assert normalised_score(total(detector), total("null"), windows * STANDARD.tp_weight) == \
        pytest.approx(final[detector]["standard"], abs=1e-6)


@needs_nab
def test_results_folder_reading_and_fixed_threshold_evaluation_match_the_published_scores():
    evaluation = score_results(NAB / "results" / "numenta", LABELS, threshold=0.542187690735)
    published = pd.read_csv(NAB / "results" / "numenta" / "numenta_standard_scores.csv")
    published = published.set_index("File")["Score"]
    standard = evaluation.profiles["standard"]
    # Every series whose published outputs are in the folder is scored, whichever they are.
    shipped = {p.relative_to(NAB / "data").as_posix() for p in (NAB / "data").glob("*/*.csv")}
    assert set(standard.files) == shipped
    for series, result in standard.files.items():
        assert result.score == pytest.approx(published[series], abs=0.01)
    assert standard.null == -sum(len(load_labels(LABELS).for_series(s)) for s in standard.files)


@needs_nab
def test_optimised_threshold_beats_every_other_threshold_on_real_results():
    outputs = read_results_folder(NAB / "results" / "randomCutForest")
    labels = load_labels(LABELS)
    swept = [sweep_series(name, t, s, labels.for_series(name)) for name, (t, s) in outputs.items()]
    for profile in load_profiles().values():
        choice = optimise_threshold(swept, profile)
        at_choice = sum(score_swept(s, choice.threshold, profile).score for s in swept)
        assert at_choice == pytest.approx(choice.score, abs=1e-9)
        for threshold in np.linspace(0.0, 1.0, 41):
            assert sum(score_swept(s, threshold, profile).score for s in swept) <= choice.score + 1e-9


# --- the rules on toy series -----------------------------------------------------------------


def test_scaled_sigmoid_is_nabs_reward_curve():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.5) == -1.0


def test_a_detection_on_the_first_row_of_a_window_earns_tp_weight():
    result = _score(400)
    assert result.score == pytest.approx(1.0)
    assert (result.tp, result.fp, result.fn) == (1, 0, 49)


def test_only_the_earliest_detection_in_a_window_counts():
    assert _score(400, 420, 449).score == pytest.approx(1.0)
    assert _score(420).score == _score(420, 440).score


def test_a_late_detection_earns_less_by_the_sigmoid_of_its_distance_to_the_window_end():
    # Row 449 is the window's last row: position -(449 - 449 + 1) / 50.
    expected = (2 / (1 + math.exp(-5 / 50)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert _score(449).score == pytest.approx(expected)
    assert 0 < _score(449).score < _score(425).score < _score(400).score


def test_a_missed_window_costs_fn_weight():
    assert _score().score == -1.0
    assert _score(profile=CostProfile("fn", 1.0, 0.11, 2.0)).score == -2.0


def test_a_false_positive_before_any_window_costs_fp_weight():
    assert _score(200).score == pytest.approx(-1.0 - 0.11)


def test_a_false_positive_after_a_window_costs_by_the_sigmoid_of_its_distance():
    # 25 rows after a 50-row window: position 25 / 49.
    assert _score(474).score == pytest.approx(-1.0 + 0.11 * -math.tanh(2.5 * 25 / 49))
    assert _score(455).score > _score(474).score > _score(900).score == pytest.approx(-1.11)


def test_detections_during_probation_are_ignored():
    assert first_scored_row(N) == 150
    assert first_scored_row(20_000) == 750  # capped at 15 % of 5000 rows
    assert _score(0, 149).score == -1.0
    assert _score(150).score == pytest.approx(-1.11)
    early = AnomalyWindow(TIMES[100], TIMES[149])
    result = _score(100, windows=(early,))
    assert result.score == 0.0  # a window wholly in probation can be neither hit nor missed
    assert (result.tp, result.fn) == (0, 0)


def test_a_detection_is_a_score_at_or_above_the_threshold():
    scores = _scores()
    scores[400] = 0.7
    assert score_file(TIMES, scores, (WINDOW,), 0.7, STANDARD).score == pytest.approx(1.0)
    assert score_file(TIMES, scores, (WINDOW,), 0.70001, STANDARD).score == -1.0


def test_the_threshold_sweep_finds_the_best_threshold_of_all_files_together():
    rng = np.random.default_rng(7)
    labels = Labels({f"toy/{i}.csv": (WINDOW,) for i in range(4)})
    outputs = {}
    for i, name in enumerate(labels.windows):
        # Noise, a late rise in the window (later in each file), and a few high false alarms.
        scores = (rng.random(N) * 0.8).round(2)
        scores[405 + 10 * i:450] = (0.7 + rng.random(45 - 10 * i) * 0.3).round(2)
        scores[rng.integers(450, N, 3)] = (0.8 + rng.random(3) * 0.2).round(2)
        outputs[name] = (TIMES, scores)
    swept = [sweep_series(name, t, s, labels.for_series(name)) for name, (t, s) in outputs.items()]
    candidates = np.unique(np.concatenate([s.anomaly_scores for s in swept]))
    totals = {t: sum(score_swept(s, t, STANDARD).score for s in swept) for t in candidates}
    best = max(totals, key=lambda t: (totals[t], t))
    choice = optimise_threshold(swept, STANDARD)
    assert totals[best] > -4.0  # detecting beats staying silent, so the sweep has work to do
    assert (choice.threshold, choice.score) == (best, pytest.approx(totals[best]))
    assert sum(score_swept(s, choice.threshold, STANDARD).score for s in swept) == \
        pytest.approx(choice.score)
    assert evaluate(outputs, labels).profiles["standard"].threshold == choice.threshold


def test_the_sweep_detects_nothing_when_every_detection_costs_more_than_it_earns():
    scores = _scores(200, 300)  # two false positives, the window missed anyway
    choice = optimise_threshold([sweep_series("toy", TIMES, scores, (WINDOW,))], STANDARD)
    assert choice.threshold == 1.1
    assert choice.score == -1.0


def test_the_sweep_breaks_ties_towards_the_highest_threshold_as_nab_does():
    scores = _scores()
    scores[400], scores[420] = 0.9, 0.8  # lowering the threshold to 0.8 adds nothing
    choice = optimise_threshold([sweep_series("toy", TIMES, scores, (WINDOW,))], STANDARD)
    assert (choice.threshold, choice.score) == (0.9, pytest.approx(1.0))


def test_a_perfect_detector_normalises_to_100_and_a_silent_one_to_0():
    labels = Labels({"toy/a.csv": (WINDOW,), "toy/b.csv": (AnomalyWindow(TIMES[600], TIMES[659]),)})
    perfect = {"toy/a.csv": (TIMES, _scores(400)), "toy/b.csv": (TIMES, _scores(600))}
    silent = {name: (TIMES, _scores()) for name in labels.windows}
    for profile, result in evaluate(perfect, labels).profiles.items():
        assert result.normalised == pytest.approx(100.0), profile
    for profile, result in evaluate(silent, labels).profiles.items():
        assert result.normalised == pytest.approx(0.0), profile
    assert normalised_score(raw=-3.0, null=-4.0, perfect=4.0) == 12.5


def test_to_json_has_the_files_and_normalised_shape():
    labels = Labels({"toy/a.csv": (WINDOW,)})
    document = evaluate({"toy/a.csv": (TIMES, _scores(400))}, labels, threshold=0.5).to_json()
    profiles = {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert set(document) == {"files", "normalised"}
    assert set(document["files"]) == {"toy/a.csv"} and set(document["files"]["toy/a.csv"]) == profiles
    assert set(document["normalised"]) == profiles
    assert document["files"]["toy/a.csv"]["standard"] == pytest.approx(1.0)


def test_a_series_without_labels_entry_is_an_error_naming_it():
    labels = Labels({"toy/a.csv": (WINDOW,)}, source="windows.json")
    with pytest.raises(BenchmarkError, match=r"windows.json has no entry for 'toy/b.csv'"):
        evaluate({"toy/b.csv": (TIMES, _scores())}, labels)


def test_a_window_end_that_is_no_timestamp_of_the_series_is_an_error():
    off_grid = AnomalyWindow(TIMES[400] + pd.Timedelta("1min"), TIMES[449])
    with pytest.raises(BenchmarkError, match="no timestamp of the series"):
        score_file(TIMES, _scores(), (off_grid,), 0.5, STANDARD, name="toy/a.csv")


def test_profiles_can_be_overridden_by_a_file(tmp_path):
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps({"strict": {"CostMatrix": {"tpWeight": 1, "fpWeight": 1, "fnWeight": 3}}}))
    assert load_profiles(path) == {"strict": CostProfile("strict", 1.0, 1.0, 3.0)}
    assert list(load_profiles()) == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    path.write_text(json.dumps({"strict": {"CostMatrix": {"tpWeight": 1, "fpWeight": "x"}}}))
    with pytest.raises(BenchmarkError, match=r"'strict' field CostMatrix.fpWeight"):
        load_profiles(path)


# --- the command line ------------------------------------------------------------------------


def _nab_layout(root):
    """A tiny NAB tree: results/toy/cat/toy_a.csv (window hit on its first row) and labels."""
    folder = root / "results" / "toy" / "cat"
    folder.mkdir(parents=True)
    pd.DataFrame({"timestamp": TIMES.strftime("%Y-%m-%d %H:%M:%S"), "value": 1.0,
                  "anomaly_score": _scores(400), "label": 0}).to_csv(folder / "toy_a.csv", index=False)
    labels = root / "labels.json"
    labels.write_text(json.dumps({"cat/a.csv": [[str(TIMES[400]), str(TIMES[449])]]}))
    return root / "results" / "toy", labels


def test_eval_command_nab_score_prints_one_json_object(tmp_path, capsys):
    results, labels = _nab_layout(tmp_path)
    code = main(["nab", "score", "--results", str(results), "--labels", str(labels), "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"files", "normalised"}
    assert list(document["files"]) == ["cat/a.csv"]
    assert document["normalised"]["standard"] == pytest.approx(100.0)


def test_eval_command_nab_score_prints_a_table_with_the_threshold(tmp_path, capsys):
    results, labels = _nab_layout(tmp_path)
    assert main(["nab", "score", "--results", str(results), "--labels", str(labels),
                 "--threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "cat/a.csv" in out and "normalised score" in out and "threshold" in out


def test_eval_command_nab_score_points_a_parent_results_folder_to_a_detector_folder(tmp_path, capsys):
    results, labels = _nab_layout(tmp_path)
    (results / "toy_standard_scores.csv").write_text("Detector\n")
    code = main(["nab", "score", "--results", str(results.parent), "--labels", str(labels)])
    assert code == 2
    assert f"e.g. {results}" in capsys.readouterr().err


@needs_nab
def test_eval_command_nab_score_on_published_numenta_results(capsys):
    code = main(["nab", "score", "--results", str(NAB / "results" / "numenta"), "--labels", str(LABELS),
                 "--threshold", "0.5421876907", "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    nyc_taxi = document["files"]["realKnownCause/nyc_taxi.csv"]["standard"]
    assert nyc_taxi == pytest.approx(2.43572773247, abs=0.01)  # numenta_standard_scores.csv
