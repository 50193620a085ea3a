"""The Numenta Anomaly Benchmark (NAB) scoring method, reproducing NAB's published scores.

NAB (Lavin & Ahmad, 2015; github.com/numenta/NAB) rewards streaming detectors for finding
each labelled anomaly window early and costs them for false alarms, under three cost
profiles. Scoring our detectors with its exact rules makes them comparable with the
published scoreboard; the tests check the per-file scores of published detectors.

Typical use::

    from lakeguard_eval.nab import evaluate, load_labels

    evaluation = evaluate({"realKnownCause/nyc_taxi.csv": (timestamps, scores)},
                          load_labels("NAB/labels/combined_windows.json"))
    evaluation.to_json()["normalised"]["standard"]
"""

from lakeguard_eval.nab.evaluation import evaluate, score_results
from lakeguard_eval.nab.folds import FoldResult, OutOfFold, out_of_fold
from lakeguard_eval.nab.labels import AnomalyWindow, Labels, load_labels
from lakeguard_eval.nab.model import Evaluation, FileScore, ProfileScore
from lakeguard_eval.nab.normalise import normalised_score
from lakeguard_eval.nab.profiles import CostProfile, load_profiles
from lakeguard_eval.nab.results_folder import read_results_folder
from lakeguard_eval.nab.scorer import score_file
from lakeguard_eval.nab.table import format_evaluation
from lakeguard_eval.nab.threshold import ThresholdChoice, optimise_threshold

__all__ = [
    "AnomalyWindow",
    "CostProfile",
    "Evaluation",
    "FileScore",
    "FoldResult",
    "Labels",
    "OutOfFold",
    "ProfileScore",
    "ThresholdChoice",
    "evaluate",
    "format_evaluation",
    "load_labels",
    "load_profiles",
    "normalised_score",
    "optimise_threshold",
    "out_of_fold",
    "read_results_folder",
    "score_file",
    "score_results",
]
