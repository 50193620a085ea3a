"""Score the project's detectors on NAB, causally, beside the published NAB detectors on the same files.

Two parts, both on every series of a NAB data folder:

1. **In-sample, as NAB publishes**: every detector in ``lakeguard.ml.detectors.DETECTORS``
   runs causally (fit on NAB's probation, then point by point) with its benchmark
   parameters and is scored with the threshold NAB's optimiser picks on these very files,
   beside every published detector; the run times come from here.
2. **Out-of-fold**: the champion (``range_likelihood``) is cross-validated leaving one
   category out at a time (its grid and each threshold chosen on the other categories),
   with the published detectors' thresholds chosen the same way: the figure that says
   something about series nobody labelled.

It records ``nab_oof_vs_htm`` (out-of-fold standard score against published HTM's on the
same folds, target ratio >= 1) and ``nab_score_all_series`` (seconds to score every series
with the champion against the 2-minute budget), and prints the tables and, for context,
NAB's published full-corpus scoreboard. Run::

    .venv/bin/python bench/nab.py [--data DIR --labels FILE --published DIR] [--json]

The defaults point at ``../shared/data/nab`` (or ``$LAKEGUARD_NAB_DIR``): 31 of NAB's 58
series, five categories; the other 27 are withheld on purpose.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import check, record

from lakeguard_eval.benchmark import NAB_PARAMS, BenchmarkResult, run_benchmark
from lakeguard_eval.crossval import CrossValidation, cross_validate

ROOT = Path(__file__).resolve().parents[1]
#: The shared NAB extract: $LAKEGUARD_NAB_DIR (a git worktree sits elsewhere), else ../shared/data/nab.
NAB = Path(os.environ.get("LAKEGUARD_NAB_DIR") or ROOT.parent / "shared" / "data" / "nab")
#: The detector the figures are about, and the published one it is held against (Numenta's HTM).
OURS, THEIRS, PROFILE = "range_likelihood", "numenta", "standard"
#: The issue's budget for scoring every series, in seconds (2 cores).
BUDGET_SECONDS = 120.0
#: Team-matches in a season file (20 teams x 38 matches): what one Score Lambda run judges.
SEASON_POINTS = 760


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=NAB / "data",
                        help="NAB data folder, <category>/<file>.csv (default: %(default)s)")
    parser.add_argument("--labels", type=Path, default=NAB / "labels" / "combined_windows.json",
                        help="NAB combined_windows.json (default: %(default)s)")
    parser.add_argument("--published", type=Path, default=NAB / "results",
                        help="NAB results folder, <detector>/<category>/<detector>_<file>.csv; "
                             "skipped when absent (default: %(default)s)")
    parser.add_argument("--profiles", type=Path, default=NAB / "config" / "profiles.json",
                        help="NAB profiles.json; NAB's bundled three when absent (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print only the result as JSON")
    return parser.parse_args(argv)


def _timings(result: BenchmarkResult, wall: float) -> list[str]:
    timed = {d.name: d for d in result.detectors if d.seconds is not None}
    baseline = timed.get("quantile_band")
    lines = [f"wall time {wall:.1f} s for {len(result.files)} file(s); 'x band' is the time "
             "relative to quantile_band in this run",
             f"{'detector':<22} {'seconds':>8} {'points/s':>10} {'x band':>7}  benchmark params"]
    for d in timed.values():
        assert d.seconds is not None
        rate = d.points / d.seconds if d.seconds > 0 else float("inf")
        ratio = (d.seconds / baseline.seconds if baseline is not None and baseline.seconds
                 else float("nan"))
        lines.append(f"{d.name:<22} {d.seconds:>8.2f} {rate:>10,.0f} {ratio:>7.1f}  "
                     f"{NAB_PARAMS.get(d.name, {})}")
    return lines


def _scoreboard(published: Path | None, corpus: int) -> list[str]:
    """NAB's published full-corpus scores (``results/final_results.json``), best first."""
    path = published / "final_results.json" if published else None
    if path is None or not path.is_file():
        return []
    board = json.loads(path.read_text())
    profiles = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    lines = [f"Published NAB scoreboard, full corpus of {corpus} files (from final_results.json; for "
             "context only,", "not comparable with the local figures above):",
             f"{'detector':<22} " + " ".join(f"{p:>18}" for p in profiles)]
    for name, scores in sorted(board.items(), key=lambda item: -item[1].get("standard", 0.0)):
        lines.append(f"{name:<22} " + " ".join(f"{scores.get(p, float('nan')):>18.1f}" for p in profiles))
    return lines


def _records(result: BenchmarkResult, cv: CrossValidation, wall: float) -> None:
    """Write the two results ``make bench`` tabulates."""
    oof = {d.name: d for d in cv.detectors}
    if OURS in oof and THEIRS in oof:  # the published results are optional
        ours, theirs = oof[OURS].result, oof[THEIRS].result
        record(check("nab_oof_vs_htm", round(ours.normalised[PROFILE], 3),
                     round(theirs.normalised[PROFILE], 3), "NAB score",
                     f"ratio >= 1 (out-of-fold NAB {PROFILE} score, same folds as published {THEIRS})",
                     lambda r: r >= 1, files=len(cv.files), categories=list(cv.categories),
                     out_of_fold={d.name: dict(d.result.normalised) for d in cv.detectors},
                     in_sample={d.name: dict(d.result.in_sample) for d in cv.detectors},
                     chosen_params=oof[OURS].chosen_params,
                     folds={f.held_out: json.loads(f.candidate) for f in ours.folds}))
    timed = next((d for d in result.detectors if d.name == OURS and d.seconds is not None), None)
    if timed is not None and timed.seconds is not None:
        per_point = timed.seconds / max(timed.points, 1)
        record(check("nab_score_all_series", round(timed.seconds, 3), BUDGET_SECONDS, "s",
                     f"ratio <= 1 (every series scored by {OURS}, one process, within 2 minutes)",
                     lambda r: r <= 1, files=len(result.files), points=timed.points,
                     microseconds_per_point=round(per_point * 1e6, 2),
                     season_file_seconds=round(per_point * SEASON_POINTS, 4),
                     benchmark_wall_seconds=round(wall, 3)))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    published = args.published if args.published.is_dir() else None
    profiles = args.profiles if args.profiles.is_file() else None
    start = time.perf_counter()
    result = run_benchmark(args.data, args.labels, published=published, profiles=profiles,
                           progress=_stderr)
    wall = time.perf_counter() - start
    cv = cross_validate(args.data, args.labels, [OURS], published, profiles, progress=_stderr)
    _records(result, cv, wall)
    if args.json:
        print(json.dumps({"in_sample": result.to_json(), "cross_validation": cv.to_json()},
                         indent=2))
        return 0
    categories = sorted({name.split("/")[0] for name in result.files})
    print(result.table())
    print(f"\nIn-sample figures: {len(result.files)} file(s) of {', '.join(categories)}, every "
          "detector (ours and published) scored by NAB's rules with its threshold optimised on them.")
    print("\n" + "\n".join(_timings(result, wall)))
    print("\n" + cv.table())
    board = _scoreboard(published, len(json.loads(args.labels.read_text())))
    if board:
        print("\n" + "\n".join(board))
    return 0


if __name__ == "__main__":
    sys.exit(main())
