"""Drop a burst of raw files at once on the embedded AWS and prove none is lost.

Baseline (same run, same lake): a few files dropped one after another, each waited for.
Burst: every file put at once, then all waited for. Prints the wall time, files/minute of
both and their ratio, each file's outcome against what it should be, and the ledger
check. Run: ``.venv/bin/python bench/burst.py [--files 300] [--bad-share 0.5]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import check, record

from lakeguard.config import Settings
from lakeguard.local import LocalLake
from lakeguard.pipeline.ledger_check import check_deployed
from lakeguard.samples.burst import write_burst


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="files in the burst")
    parser.add_argument("--bad-share", type=float, default=0.5, help="share of bad files")
    parser.add_argument("--baseline", type=int, default=10, help="files dropped one by one")
    parser.add_argument("--port", type=int, default=5093, help="embedded AWS port")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = write_burst(Path(tmp) / "baseline", args.baseline, args.bad_share, seed=2)
        burst = write_burst(Path(tmp) / "burst", args.files, args.bad_share, seed=1)
        with LocalLake(port=args.port).start(progress=lambda m: print(f"-- {m}", flush=True)) as lake:
            lake.drop(Path(tmp) / "baseline" / next(iter(base)), "matches/warmup/")  # warm Spark
            start = time.monotonic()
            for name in base:
                lake.drop(Path(tmp) / "baseline" / name, "matches/baseline/")
            sequential = time.monotonic() - start
            print(f"-- baseline: {len(base)} files one by one in {sequential:.1f} s", flush=True)
            start = time.monotonic()
            submitted = [lake.submit(Path(tmp) / "burst" / name, "matches/burst/") for name in burst]
            put = time.monotonic() - start
            print(f"-- burst: {len(submitted)} files put in {put:.1f} s; waiting", flush=True)
            results = []
            for index, one in enumerate(submitted, 1):
                results.append(lake.wait(one))
                if index % 50 == 0 or index == len(submitted):
                    print(f"-- {index}/{len(submitted)} done", flush=True)
            wall = time.monotonic() - start
            accounting = check_deployed(Settings.from_outputs(lake.outputs))
    wrong = [r.file for r in results if r.outcome != burst[r.file]]
    published = sum(r.outcome == "published" for r in results)
    quarantined = sum(r.outcome == "quarantined" for r in results)
    result = check("burst_files_per_minute", round(60 * len(burst) / wall, 1),
                   round(60 * len(base) / sequential, 1), "files/min",
                   "ratio >= 1 (a burst is at least as fast per file as one by one)",
                   lambda r: r >= 1, files=len(burst), baseline_files=len(base),
                   bad_share=args.bad_share, wall_seconds=round(wall, 1),
                   baseline_seconds=round(sequential, 1), published=published,
                   quarantined=quarantined, unexpected_outcomes=wrong,
                   ledger=accounting.to_json())
    record(result)
    print(f"\nburst of {len(burst)} files: {wall:.1f} s wall, {result.measured} files/min "
          f"({result.ratio:.2f}x the one-by-one baseline of {result.baseline} "
          f"files/min measured in this run)")
    print(f"published {published}, quarantined {quarantined}, unexpected outcomes {len(wrong)}")
    print("\n".join(accounting.lines()))
    return 0 if accounting.ok and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
