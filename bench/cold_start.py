"""Lambda cold start: importing each handler as shipped, in a fresh interpreter, against a floor.

Every import runs the way Lambda runs the function: ``python3.11 -I -S`` with the module
path of the synthesized code asset, the dependency layer built from the lock file and the
runtime's own AWS SDK (``lakeguard.local``), and nothing from the project's environment.
The floor is ``import pyarrow`` plus botocore's session and client modules there: every
stage parses or writes Arrow and calls AWS, and the layer is where both come from. Each
handler is measured as the floor plus ``lambdas.<name>``: what the handler adds on top
(Powertools with the X-Ray recorder behind Tracer, lakeguard's own modules). A second
floor adds Powertools as ``lakeguard.pipeline.handler`` sets it up, for an
information-only result, ``cold_start_lakeguard_code``: what lakeguard's own modules add.

The figure is process CPU time around the import (``time.process_time``): imports are
CPU-bound and CPU time is not inflated when other work shares the machine; wall time
is kept in the details. Rounds are interleaved (floor, every handler, floor, ...) and
the median of the rounds is taken. Run: ``.venv/bin/python bench/cold_start.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import BenchResult, check, record

ROOT = Path(__file__).resolve().parents[1]
#: Arrow and the AWS SDK: what every stage needs from the layer before any code of ours.
FLOOR = "pyarrow, botocore.session, botocore.client"
#: handler.py is the Powertools set-up (Logger, Metrics, Tracer) and nothing else of weight.
WITH_POWERTOOLS = f"{FLOOR}, lakeguard.pipeline.handler"
TARGET = 1.3
#: What Lambda sets in a function's environment (Powertools reads LAMBDA_TASK_ROOT), and
#: no bytecode written: /var/task and /opt are read-only there, so every cold start runs
#: on the bytecode the assets ship, never on what an earlier import here cached.
LAMBDA_ENV = {"AWS_LAMBDA_FUNCTION_NAME": "lakeguard-bench", "PATH": "/usr/bin:/bin",
              "AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-3",
              "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11", "TZ": ":UTC",
              "PYTHONDONTWRITEBYTECODE": "1"}
PROBE = ("import json, os, sys, time\n"
         "sys.path[:0] = json.loads(os.environ['LAKEGUARD_LAMBDA_PATH'])\n"
         "c, w = time.process_time(), time.perf_counter()\n"
         "import {modules}\n"
         "print(time.process_time() - c, time.perf_counter() - w)\n")


def shipped_paths() -> tuple[Path, list[str]]:
    """The code asset and Lambda's module path, from the synthesized assembly."""
    import json

    from lakeguard.local.cloudformation import staged_asset
    from lakeguard.local.runtime import synthesize
    from lakeguard.local.runtimes import runtime_sdk

    assembly = synthesize()
    template = json.loads((assembly / "LakeguardProcessingStack.template.json").read_text())
    resources = template["Resources"].values()
    code = next(r["Properties"]["Code"]["S3Key"] for r in resources
                if r["Type"] == "AWS::Lambda::Function")
    layer = next(r["Properties"]["Content"]["S3Key"] for r in resources
                 if r["Type"] == "AWS::Lambda::LayerVersion")
    task, opt = staged_asset(assembly, code), staged_asset(assembly, layer) / "python"
    return task, [str(task), str(opt), str(runtime_sdk("python3.11"))]


def handlers(task: Path) -> list[str]:
    """Every handler module of the shipped asset."""
    return sorted(f"lambdas.{p.stem}" for p in (task / "lambdas").glob("*.py")
                  if p.stem != "__init__")


def import_seconds(modules: str, task: Path, path: list[str]) -> tuple[float, float]:
    """(CPU, wall) seconds to import ``modules`` in a fresh interpreter, as Lambda would."""
    import json

    from lakeguard.local.runtimes import interpreter

    env = {**LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(task), "LAKEGUARD_LAMBDA_PATH": json.dumps(path)}
    out = subprocess.run([str(interpreter("3.11")), "-I", "-S", "-c",
                          PROBE.format(modules=modules)], cwd=task, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    task, path = shipped_paths()
    floors = [FLOOR, WITH_POWERTOOLS]
    names = [*floors, *(f"{FLOOR}, {h}" for h in handlers(task))]
    import_seconds(FLOOR, task, path)  # warm the file cache once
    cpu: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.rounds):
        for name in names:
            c, w = import_seconds(name, task, path)
            cpu[name].append(c)
            wall[name].append(w)
    median = {n: statistics.median(cpu[n]) for n in names}
    floor = median[FLOOR]
    per_handler = {n.removeprefix(f"{FLOOR}, "): {
        "cpu_s": round(median[n], 4), "added_cpu_s": round(median[n] - floor, 4),
        "wall_s": round(statistics.median(wall[n]), 4), "ratio": round(median[n] / floor, 3)}
        for n in names[2:]}
    worst = max(names[2:], key=lambda n: median[n])
    result = check("cold_start_handler_import", median[worst], floor, "s",
                   f"ratio <= {TARGET} (floor + worst handler vs `import {FLOOR}`)",
                   lambda r: r <= TARGET, worst=worst.removeprefix(f"{FLOOR}, "),
                   handlers=per_handler,
                   floor_wall_s=round(statistics.median(wall[FLOOR]), 4), rounds=args.rounds,
                   clock="process CPU time, median of interleaved rounds, shipped asset + layer")
    record(result)
    runtime = median[WITH_POWERTOOLS]
    own = check("cold_start_lakeguard_code", median[worst], runtime, "s",
                "information (floor + Powertools as baseline)", lambda _: True,
                worst=result.details["worst"], floor_s=round(floor, 4), rounds=args.rounds)
    record(BenchResult(**{**asdict(own), "met": None}))
    print(f"{'import pyarrow, botocore, +':<26} {'cpu s':>7} {'added':>7} {'wall s':>7} {'x floor':>8}")
    print(f"{'(floor)':<26} {floor:>7.3f} {0:>7.3f} {statistics.median(wall[FLOOR]):>7.3f} {1:>8.2f}")
    for name, row in per_handler.items():
        print(f"{name:<26} {row['cpu_s']:>7.3f} {row['added_cpu_s']:>7.3f} {row['wall_s']:>7.3f} "
              f"{row['ratio']:>8.2f}")
    print(f"{'+ Powertools':<26} {runtime:>7.3f} {runtime - floor:>7.3f}")
    print(f"worst: {result.details['worst']} at {result.ratio:.2f}x the floor (target <= {TARGET}): "
          f"{'met' if result.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
