"""Score the project's detectors on NAB, causally, beside the published NAB detectors on the same files.

Runs every detector in ``lakeguard.ml.detectors.DETECTORS`` over each series of a NAB data
folder (fit on NAB's probation, then score point by point), scores them with NAB's rules
(threshold optimised per detector and profile), scores every published detector found in
the results folder on the same files, and prints the table, the run times and, for
context, NAB's published full-corpus scoreboard. Run::

    .venv/bin/python bench/nab.py [--data DIR --labels FILE --published DIR] [--json]

The defaults point at ``../shared/data/nab``, which ships only NAB's realKnownCause files
(7 of the 58 series): local figures are on those files only, and the benchmark parameters
in ``lakeguard/ml/benchmark.py`` were chosen on them, so they are in-sample.
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

from lakeguard.ml.benchmark import NAB_PARAMS, BenchmarkResult, run_benchmark

ROOT = Path(__file__).resolve().parents[1]
#: The shared NAB extract: $LAKEGUARD_NAB_DIR (a git worktree sits elsewhere), else ../shared/data/nab.
NAB = Path(os.environ.get("LAKEGUARD_NAB_DIR") or ROOT.parent / "shared" / "data" / "nab")
#: The detector the figure is about, and the published one it is held against (Numenta's HTM).
OURS, THEIRS, PROFILE = "forecast_likelihood", "numenta", "standard"


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


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    published = args.published if args.published.is_dir() else None
    profiles = args.profiles if args.profiles.is_file() else None
    start = time.perf_counter()
    result = run_benchmark(args.data, args.labels, published=published, profiles=profiles,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    wall = time.perf_counter() - start
    scores = result.to_json()["detectors"]
    if OURS in scores and THEIRS in scores:  # the published results are optional
        record(check("nab_forecast_vs_htm", round(scores[OURS][PROFILE], 3),
                     round(scores[THEIRS][PROFILE], 3), "NAB score",
                     f"ratio >= 1 (NAB {PROFILE} score, same files as published {THEIRS})",
                     lambda r: r >= 1, files=len(result.files), scores=scores,
                     wall_seconds=round(wall, 3), benchmark_params=NAB_PARAMS,
                     seconds={d.name: round(d.seconds, 3) for d in result.detectors
                              if d.seconds is not None},
                     caveat="in-sample: the benchmark parameters were chosen on these files"))
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0
    categories = sorted({name.split("/")[0] for name in result.files})
    print(result.table())
    print(f"\nLocal figures: {len(result.files)} file(s) of {', '.join(categories)} only, every "
          "detector (ours and published) scored by NAB's rules with its threshold optimised on them.")
    print("\n" + "\n".join(_timings(result, wall)))
    board = _scoreboard(published, len(json.loads(args.labels.read_text())))
    if board:
        print("\n" + "\n".join(board))
    return 0


if __name__ == "__main__":
    sys.exit(main())
