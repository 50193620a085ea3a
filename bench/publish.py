"""The commit protocol's cost: Publish latency per object and the demo's files per minute.

Drops the demo's seasons one by one into the embedded AWS (as ``make demo``), waits for
each, and reads each execution's history for how long its Publish state took. Run it once
on the code before the Iceberg change and once after, on the same machine and in the same
hour (absolute times on a shared 2-core machine mean little)::

    # the copy-then-delete publish, from a checkout of the commit before the change
    PYTHONPATH=/path/to/old/checkout .venv/bin/python bench/publish.py --label before
    .venv/bin/python bench/publish.py --label after

Each run writes ``bench/results/publish_<label>.json``; the ``after`` run also writes
``demo_files_per_minute_iceberg.json`` against the ``before`` figures (target: at most a
20% drop in files per minute).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import RESULTS, check, record

SEASONS = Path(__file__).resolve().parents[1] / "data" / "football" / "ligue1"


def _state_seconds(history: list[dict[str, Any]], state: str) -> float | None:
    entered = None
    for event in history:
        if event.get("stateEnteredEventDetails", {}).get("name") == state:
            entered = event["timestamp"]
        if event.get("stateExitedEventDetails", {}).get("name") == state and entered:
            return float((event["timestamp"] - entered).total_seconds())
    return None


def run(port: int, limit: int | None) -> dict[str, Any]:
    import lakeguard
    from lakeguard.aws import client
    from lakeguard.local import LocalLake

    files = sorted(SEASONS.glob("*.csv"))[:limit]
    with LocalLake(port=port).start(progress=lambda m: print(f"-- {m}", flush=True)) as lake:
        sfn = client("stepfunctions")
        machine = lake.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
        start = time.perf_counter()
        results = [lake.drop(f, "matches/") for f in files]
        wall = time.perf_counter() - start
        publish = [_state_seconds(sfn.get_execution_history(
            executionArn=f"{machine}:{r.run_id}", maxResults=1000)["events"], "Publish")
            for r in results]
    seconds = [p for p in publish if p is not None]
    return {"code": str(Path(lakeguard.__file__).resolve().parents[1]), "files": len(files),
            "published": sum(r.outcome == "published" for r in results),
            "wall_seconds": round(wall, 2), "files_per_minute": round(60 * len(files) / wall, 2),
            "publish_median_s": round(statistics.median(seconds), 3),
            "publish_p90_s": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 3),
            "publish_mean_s": round(statistics.mean(seconds), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", choices=("before", "after"), required=True)
    parser.add_argument("--port", type=int, default=5096, help="embedded AWS port")
    parser.add_argument("--files", type=int, default=None, help="only the first N seasons")
    args = parser.parse_args(argv)
    figures = run(args.port, args.files)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"publish_{args.label}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    before_path = RESULTS / "publish_before.json"
    if args.label == "after" and before_path.is_file():
        before = json.loads(before_path.read_text())
        result = check("demo_files_per_minute_iceberg", figures["files_per_minute"],
                       before["files_per_minute"], "files/min",
                       "ratio >= 0.8 (at most a 20% drop against the copy-then-delete publish)",
                       lambda r: r >= 0.8, before=before, after=figures)
        record(result)
        record(check("publish_seconds_per_object", figures["publish_median_s"],
                     before["publish_median_s"], "s", "information (median Publish state)",
                     lambda r: True, before=before, after=figures))
        print(f"files/min {before['files_per_minute']} -> {figures['files_per_minute']} "
              f"({result.ratio:.2f}x); Publish median {before['publish_median_s']} s -> "
              f"{figures['publish_median_s']} s")
        return 0 if result.met else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
