"""One small file through ``lakeguard local run`` against a lake that is up, vs a cold run.

``embedded_local_run_seconds``: ``lakeguard local run --dataset matches`` of one season
(15 KB) against the lake ``lakeguard local up`` keeps, timed around the whole command
(its own imports and polling included), against the same command with no lake up (it
starts the embedded AWS, deploys from the cached synthesis, runs the file and stops), in
the same run. Each warm call takes another season, so no call repeats a published object.
The first call after ``local up`` finds the functions cold and is reported apart; the
figure is the median of the calls after it. Target: under 5 s (issue 20).

Run: ``.venv/bin/python bench/local_run.py [--calls 4]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import check, record

ROOT = Path(__file__).resolve().parents[1]
SEASONS = sorted((ROOT / "data" / "football" / "ligue1").glob("*.csv"))
TARGET_S = 5.0
LAKEGUARD = [sys.executable, "-m", "lakeguard.cli"]


def _timed(arguments: list[str]) -> float:
    """Seconds of one ``lakeguard`` command, run as a user runs it."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    begin = time.perf_counter()
    done = subprocess.run([*LAKEGUARD, *arguments], capture_output=True, text=True,
                          check=False, cwd=ROOT, env=environment)
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        raise SystemExit(f"lakeguard {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4, help="calls against the lake that is up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        state = ["--state-dir", str(Path(tmp) / "state")]

        def run(season: Path) -> list[str]:
            return ["local", "run", "--dataset", "matches", str(season), *state]

        cold = _timed(run(SEASONS[0]))
        print(f"local run with no lake up: {cold:.1f} s", flush=True)
        _timed(["local", "up", *state])
        try:
            calls = [_timed(run(season)) for season in SEASONS[1:args.calls + 2]]
        finally:
            _timed(["local", "down", *state])
    first, warm = calls[0], statistics.median(calls[1:])
    print(f"against the lake that is up: first {first:.1f} s, then "
          f"{', '.join(f'{s:.1f}' for s in calls[1:])} s", flush=True)
    result = check("embedded_local_run_seconds", round(warm, 2), round(cold, 2), "s",
                   f"< {TARGET_S:.0f} s against a lake that is up (median after the first call)",
                   lambda _: warm < TARGET_S, first_call_seconds=round(first, 2),
                   calls_seconds=[round(s, 2) for s in calls], cold_seconds=round(cold, 2))
    record(result)
    print(f"{result.name}: {result.measured} s against {result.baseline} s cold "
          f"(ratio {result.ratio:.3g}); target {result.target}: "
          f"{'met' if result.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
