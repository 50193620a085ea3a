"""Lambda cold start: importing each handler module in a fresh interpreter, against the floor.

The floor is ``import pandas, pyarrow`` alone in a fresh interpreter: the AWS SDK for
pandas layer provides both. Each handler is measured as ``import pandas, pyarrow,
lambdas.<name>`` in a fresh interpreter, i.e. the floor plus what the handler adds on top
of it (the handlers import pyarrow but not pandas, so importing a handler alone would
flatter it). The environment is the one Lambda sets, so Powertools' Tracer is enabled and
patches as in AWS. Powertools is *not* in the floor: it sits in a managed layer too, but
importing it is a choice the handler makes (Logger, Metrics and the X-Ray recorder behind
Tracer are built at import), so its cost counts against the handler. The AWS SDK is not
in the floor either (lakeguard's clients come from botocore; boto3 would add s3transfer).
To show where the added time goes, two more floors are measured: with botocore's session
and client modules, and with those plus Powertools as ``lakeguard.pipeline.handler`` sets
it up; the second gives an information-only result, ``cold_start_lakeguard_code``: what
lakeguard's own modules add.

The figure is process CPU time around the import (``time.process_time``): imports are
CPU-bound and CPU time is not inflated when other work shares the machine; wall time
is kept in the details. Rounds are interleaved (floor, every handler, floor, ...) and
the median of the rounds is taken. Run: ``.venv/bin/python bench/cold_start.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import BenchResult, check, record

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "pandas, pyarrow"
WITH_SDK = f"{FLOOR}, botocore.session, botocore.client"
#: handler.py is the Powertools set-up (Logger, Metrics, Tracer) and nothing else of weight.
WITH_POWERTOOLS = f"{WITH_SDK}, lakeguard.pipeline.handler"
TARGET = 1.3
#: What Lambda sets in a function's environment (Powertools reads LAMBDA_TASK_ROOT).
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "lakeguard-bench",
              "AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-3",
              "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"}
PROBE = ("import time\n"
         "c, w = time.process_time(), time.perf_counter()\n"
         "import {modules}\n"
         "print(time.process_time() - c, time.perf_counter() - w)\n")


def handlers() -> list[str]:
    """Every handler module under ``lambdas/``."""
    return sorted(f"lambdas.{p.stem}" for p in (ROOT / "lambdas").glob("*.py")
                  if p.stem != "__init__")


def import_seconds(modules: str) -> tuple[float, float]:
    """(CPU, wall) seconds to import ``modules`` in a fresh interpreter."""
    env = {**os.environ, **LAMBDA_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(modules=modules)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    floors = [FLOOR, WITH_SDK, WITH_POWERTOOLS]
    names = [*floors, *(f"{FLOOR}, {h}" for h in handlers())]
    import_seconds(FLOOR)  # warm the file cache and the bytecode caches once
    cpu: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.rounds):
        for name in names:
            c, w = import_seconds(name)
            cpu[name].append(c)
            wall[name].append(w)
    median = {n: statistics.median(cpu[n]) for n in names}
    floor = median[FLOOR]
    per_handler = {n.removeprefix(f"{FLOOR}, "): {
        "cpu_s": round(median[n], 4), "added_cpu_s": round(median[n] - floor, 4),
        "wall_s": round(statistics.median(wall[n]), 4), "ratio": round(median[n] / floor, 3)}
        for n in names[3:]}
    worst = max(names[3:], key=lambda n: median[n])
    result = check("cold_start_handler_import", median[worst], floor, "s",
                   f"ratio <= {TARGET} (floor + worst handler vs `import {FLOOR}`)",
                   lambda r: r <= TARGET, worst=worst.removeprefix(f"{FLOOR}, "),
                   handlers=per_handler,
                   floor_wall_s=round(statistics.median(wall[FLOOR]), 4), rounds=args.rounds,
                   clock="process CPU time, median of interleaved rounds, Lambda environment")
    record(result)
    runtime = median[WITH_POWERTOOLS]
    own = check("cold_start_lakeguard_code", median[worst], runtime, "s",
                "information (floor + botocore + Powertools as baseline)", lambda _: True,
                worst=result.details["worst"], floor_pandas_pyarrow_s=round(floor, 4),
                floor_with_botocore_s=round(median[WITH_SDK], 4), rounds=args.rounds)
    record(BenchResult(**{**asdict(own), "met": None}))
    print(f"{'import pandas, pyarrow, +':<26} {'cpu s':>7} {'added':>7} {'wall s':>7} {'x floor':>8}")
    print(f"{'(floor)':<26} {floor:>7.3f} {0:>7.3f} {statistics.median(wall[FLOOR]):>7.3f} {1:>8.2f}")
    for name, row in per_handler.items():
        print(f"{name:<26} {row['cpu_s']:>7.3f} {row['added_cpu_s']:>7.3f} {row['wall_s']:>7.3f} "
              f"{row['ratio']:>8.2f}")
    print(f"{'+ botocore':<26} {median[WITH_SDK]:>7.3f} {median[WITH_SDK] - floor:>7.3f}")
    print(f"{'+ botocore + Powertools':<26} {runtime:>7.3f} {runtime - floor:>7.3f}")
    print(f"worst: {result.details['worst']} at {result.ratio:.2f}x the floor (target <= {TARGET}): "
          f"{'met' if result.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
