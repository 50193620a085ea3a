"""``lakeguard-eval``: how well the detectors do, measured away from the lake.

``lakeguard-eval nab`` runs the detectors on the Numenta Anomaly Benchmark, scores
results and cross-validates:

- ``lakeguard-eval nab --data DIR --labels FILE``: every project detector, causally, with the
  thresholds NAB would choose (in-sample, as NAB publishes).
- ``lakeguard-eval nab score --results DIR --labels FILE``: one detector's results folder.
- ``lakeguard-eval nab cv --data DIR --labels FILE``: leave-one-category-out cross-validation,
  the published detectors on the same folds: the figure to trust for series nobody labelled.

Exit codes, errors and output streams are ``lakeguard``'s (:mod:`lakeguard.cli.support`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lakeguard import __version__
from lakeguard.cli.support import Parser, add_format_option, run_main, with_global_options
from lakeguard.exceptions import UsageError

#: Where NAB keeps the published results, relative to its data folder.
NAB_RESULTS = Path("..") / "results"


def _print(message: str) -> None:
    print(message, flush=True)


def cmd_nab_score(args: argparse.Namespace) -> int:
    """Score one detector's results folder the NAB way: raw score per file, normalised per profile."""
    import json

    from lakeguard_eval.nab import format_evaluation, score_results

    evaluation = score_results(args.results, args.labels, threshold=args.threshold,
                               profiles=args.profiles)
    if args.format == "json":
        _print(json.dumps(evaluation.to_json(), indent=2))
        return 0
    how = "the given threshold" if args.threshold is not None else "each profile's optimised threshold"
    _print(f"NAB scores of {Path(args.results).resolve().name} at {how} (raw per file):\n")
    _print(format_evaluation(evaluation))
    return 0


def cmd_nab_run(args: argparse.Namespace) -> int:
    """Run the project's detectors on a NAB data folder, beside published detectors."""
    import json

    from lakeguard_eval.benchmark import run_benchmark

    if not args.data or not args.labels:
        raise UsageError("lakeguard-eval nab needs --data DIR and --labels FILE (e.g. "
                             "--data NAB/data --labels NAB/labels/combined_windows.json), "
                             "or a sub-command: score, cv; see `lakeguard-eval nab --help`")
    result = run_benchmark(
        Path(args.data), Path(args.labels), args.detector,
        Path(args.published) if args.published else None,
        Path(args.profiles) if args.profiles else None,
        progress=lambda line: print(f"-- {line}", file=sys.stderr, flush=True))
    if args.format == "json":
        _print(json.dumps(result.to_json(), indent=2))
        return 0
    _print("\n" + result.table())
    return 0


def cmd_nab_cv(args: argparse.Namespace) -> int:
    """Leave-one-category-out cross-validation; progress on stderr, the result on stdout."""
    import json
    import time

    from lakeguard_eval.crossval import cross_validate

    published = _published(args)
    start = time.perf_counter()
    result = cross_validate(
        Path(args.data), Path(args.labels), args.detector, published,
        Path(args.profiles) if args.profiles else None,
        progress=lambda line: print(f"-- {line}", file=sys.stderr, flush=True),
        workers=args.workers)
    wall = time.perf_counter() - start
    if args.format == "json":
        _print(json.dumps({**result.to_json(), "wall_seconds": round(wall, 3)}, indent=2))
        return 0
    _print(result.table())
    source = f"published results from {published}" if published else "no published results"
    _print(f"\n{source}; {wall:.1f} s wall time")
    return 0


def _published(args: argparse.Namespace) -> Path | None:
    """``--published``, else NAB's ``results`` folder beside the data folder when there is one."""
    if args.no_published:
        return None
    if args.published:
        return Path(args.published)
    sibling = (Path(args.data) / NAB_RESULTS).resolve()
    return sibling if sibling.is_dir() else None


def add_nab_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``nab`` and its sub-commands to the CLI's sub-parsers."""
    nab = sub.add_parser(
        "nab", help="the Numenta Anomaly Benchmark (NAB): run our detectors, score results, "
                    "cross-validate",
        description="Without a sub-command: run the project's detectors causally on every "
                    "series of a NAB data folder and print each detector's normalised score "
                    "per profile. `lakeguard-eval nab score` scores existing results instead; "
                    "`lakeguard-eval nab cv` cross-validates, one category held out at a time.",
        epilog="examples:\n"
               "  lakeguard-eval nab --data NAB/data --labels NAB/labels/combined_windows.json\n"
               "  lakeguard-eval nab score --results NAB/results/numenta "
               "--labels NAB/labels/combined_windows.json --format json\n"
               "  lakeguard-eval nab cv --data NAB/data --labels NAB/labels/combined_windows.json")
    nab.add_argument("--data", metavar="DIR", help="NAB data folder: <category>/<file>.csv")
    nab.add_argument("--labels", metavar="FILE",
                     help="anomaly windows, e.g. NAB/labels/combined_windows.json")
    nab.add_argument("--detector", action="append", metavar="NAME",
                     help="a detector to run (repeatable; default: all of them)")
    nab.add_argument("--published", metavar="DIR",
                     help="a NAB results folder (e.g. NAB/results): score the published "
                          "detectors found there on the same files, side by side")
    nab.add_argument("--profiles", metavar="FILE",
                     help="cost profiles in NAB's config/profiles.json format (default: bundled)")
    add_format_option(nab, ("table", "json"))
    nab.set_defaults(func=cmd_nab_run)
    nab_sub = nab.add_subparsers(dest="nab_command", required=False)

    score = nab_sub.add_parser(
        "score", help="score a detector's results in NAB layout",
        description="Score one detector's results folder the NAB way: raw score per file, "
                    "normalised per cost profile.",
        epilog="examples:\n  lakeguard-eval nab score --results NAB/results/numenta "
               "--labels NAB/labels/combined_windows.json --threshold 0.5421876907")
    score.add_argument("--results", required=True, metavar="DIR",
                       help="one detector's results folder, e.g. NAB/results/numenta")
    score.add_argument("--labels", required=True, metavar="FILE",
                       help="anomaly windows, e.g. NAB/labels/combined_windows.json")
    score.add_argument("--threshold", type=float,
                       help="score every profile at this threshold (e.g. NAB's published one) "
                            "instead of optimising one per profile")
    score.add_argument("--profiles", metavar="FILE",
                       help="cost profiles in NAB's config/profiles.json format "
                            "(default: NAB's three, bundled)")
    add_format_option(score, ("table", "json"), top=False)
    score.set_defaults(func=cmd_nab_score)

    cv = nab_sub.add_parser(
        "cv", help="leave-one-category-out cross-validation, published detectors alongside",
        description="Hold out each category of the data folder in turn: choose each detector's "
                    "parameters (from its declared grid) and each profile's threshold on the "
                    "other categories, score the held-out one. Published detectors get their "
                    "threshold chosen the same way. Progress goes to stderr.",
        epilog="examples:\n  lakeguard-eval nab cv --data NAB/data "
               "--labels NAB/labels/combined_windows.json --workers 2 --format json")
    cv.add_argument("--data", required=True, metavar="DIR",
                    help="NAB data folder: <category>/<file>.csv, two categories or more")
    cv.add_argument("--labels", required=True, metavar="FILE",
                    help="anomaly windows, e.g. NAB/labels/combined_windows.json")
    cv.add_argument("--detector", action="append", metavar="NAME",
                    help="a project detector to cross-validate (repeatable; default: all of them)")
    cv.add_argument("--published", metavar="DIR",
                    help="a NAB results folder (default: the results folder beside --data, "
                         "as in NAB's layout, when there is one)")
    cv.add_argument("--no-published", action="store_true",
                    help="leave the published detectors out")
    cv.add_argument("--profiles", metavar="FILE",
                    help="cost profiles in NAB's config/profiles.json format (default: bundled)")
    cv.add_argument("--workers", type=int, metavar="N",
                    help="processes running candidates (default: the cores, at most 2)")
    add_format_option(cv, ("table", "json"), top=False)
    cv.set_defaults(func=cmd_nab_cv)


_EPILOG = """\
exit codes:
  0  ok
  1  the evaluation failed
  2  usage error (unknown option or detector; a data, labels or results file that cannot be read)

Run `lakeguard-eval COMMAND --help` for a command's options and examples."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = Parser(prog="lakeguard-eval",
                    description="Evaluate lakeguard's detectors on public benchmarks (NAB).",
                    epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"lakeguard-eval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_nab_parser(sub)
    return with_global_options(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakeguard-eval`` console script; returns the exit code."""
    return run_main(build_parser, argv)


if __name__ == "__main__":
    sys.exit(main())
