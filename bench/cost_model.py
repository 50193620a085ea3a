"""What lakeguard costs on AWS, from the benchmarks' measured figures and named prices.

Reads the figures ``make bench`` leaves in ``bench/results/`` and turns them into Lambda
GB-seconds, Glue DPU-hours, Step Functions transitions and Athena bytes, for two loads:

* steady: ``--files-per-day`` files of ``--file-mb`` MB each (default 10,000 of 1 MB);
* backfill: ``--backfill-tb`` TB of CSV at once, in objects of ``lambda_max_bytes``
  (the Lambda path), or in 1 GB objects (the Glue path).

Measured (this machine, 2 cores): the anonymise step's rows per second
(``anonymise_vs_floor``), the Arrow refine's seconds per row (``refine_engines``: what the
Refine Lambda runs), the Glue jobs' core-seconds per row (``end_to_end_spark_vs_lambda``:
anonymise and refine on local Spark), the Publish state's median seconds per object
(``publish_seconds_per_object``) and Athena's bytes per query (``athena_scan_*``).
Assumed, and named below: the other stages' duration on a small object, Lambda's vCPU per
GB, Glue's one-minute minimum, the prices (us-east-1, arm64, December 2026 list prices).
Run: ``.venv/bin/python bench/cost_model.py`` after the benchmarks.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from stacks.processing import STAGES  # noqa: E402 - the deployed memory sizes, one source

RESULTS = ROOT / "bench" / "results"

#: Prices assumed (USD, us-east-1 list prices).
LAMBDA_GB_SECOND = 0.0000133334  # arm64
LAMBDA_REQUEST = 0.20 / 1e6
GLUE_DPU_HOUR = 0.44
GLUE_MINIMUM_S = 60  # Glue 5.0 bills at least one minute per job run
STEP_TRANSITION = 0.025 / 1000  # standard workflows
ATHENA_BYTE = 5.0 / 1e12
ATHENA_MINIMUM_BYTES = 10e6  # Athena bills at least 10 MB per query
S3_PUT, S3_GET = 0.005 / 1000, 0.0004 / 1000

#: Assumed, not measured here: what the small stages take on a small object, Lambda's
#: vCPU per GB of memory (1 vCPU at 1,769 MB), the refine job's workers (stacks), the
#: state transitions of one object (about 15), S3 requests per object, analysts' queries.
SMALL_STAGE_S = 0.5
VCPU_PER_GB = 1024 / 1769
REFINE_DPU = 2  # two G.1X workers (stacks/processing.py)
TRANSITIONS_PER_OBJECT = 15
S3_PUTS_PER_OBJECT, S3_GETS_PER_OBJECT = 30, 60
QUERIES_PER_DAY = 1000
CSV_BYTES_PER_ROW = 155  # the generated absences
LAMBDA_MAX_BYTES = 256e6


@dataclass(frozen=True)
class Measured:
    """The per-row and per-object figures the model is built on."""

    clean_cpu_s_per_row: float  # CPU-seconds of the anonymise step per row (2-core machine)
    anonymise_core_s_per_row: float  # core-seconds of the Glue anonymise job per row
    refine_core_s_per_row: float  # core-seconds of the Glue refine job per row
    arrow_refine_s_per_row: float  # seconds of the Arrow refine (the Refine Lambda) per row
    publish_s: float  # the Publish state, per object
    athena_bytes_per_query: float
    publish_measured: bool  # False: bench/publish.py has not run, 1.2 s assumed

    @classmethod
    def read(cls, folder: Path = RESULTS) -> Measured:
        def doc(name: str) -> dict:  # type: ignore[type-arg]
            path = folder / f"{name}.json"
            if not path.is_file():
                raise SystemExit(f"{path} is missing: run `make bench` (or bench/{name.split('_')[0]}"
                                 "*.py) first")
            found: dict = json.loads(path.read_text())  # type: ignore[type-arg]
            return found

        anonymise = doc("anonymise_vs_floor")
        spark = doc("end_to_end_spark_vs_lambda")
        spark_rows = spark["details"]["rows"]
        athena = [doc("athena_scan_team_anomalies"), doc("athena_scan_absences_monthly")]
        arrow_refine = doc("refine_engines")
        publish = folder / "publish_seconds_per_object.json"
        return cls(
            clean_cpu_s_per_row=2 * anonymise["measured"] / anonymise["details"]["rows"],
            anonymise_core_s_per_row=2 * spark["details"]["spark_anonymise_s"] / spark_rows,
            refine_core_s_per_row=2 * spark["details"]["spark_refine_s"] / spark_rows,
            arrow_refine_s_per_row=arrow_refine["baseline"] / arrow_refine["details"]["rows"],
            publish_s=json.loads(publish.read_text())["measured"] if publish.is_file() else 1.2,
            athena_bytes_per_query=max(a["measured"] for a in athena),
            publish_measured=publish.is_file())


def lambda_object(m: Measured, rows: float, on_glue: bool) -> float:
    """GB-seconds of one object through the Lambda stages (Clean and Refine unless the
    object is routed to the Glue jobs, which CleanReport then reports on)."""
    def gb(stage: str) -> float:
        return STAGES[stage].memory_mb / 1024

    def seconds(stage: str, s_per_row: float) -> float:
        return SMALL_STAGE_S + rows * s_per_row / (gb(stage) * VCPU_PER_GB)

    engine = (gb("clean_report") * SMALL_STAGE_S if on_glue else
              gb("clean") * seconds("clean", m.clean_cpu_s_per_row)
              + gb("refine") * seconds("refine", m.arrow_refine_s_per_row))
    others = sum(gb(name) * SMALL_STAGE_S for name in STAGES
                 if name not in ("clean", "clean_report", "refine", "publish", "quarantine"))
    return engine + gb("publish") * m.publish_s + others


def glue_dpu_hours(core_s: float, runs: int) -> float:
    """DPU-hours of ``core_s`` core-seconds of Glue work, at least one minimum per run."""
    return max(core_s / 4 / 3600, runs * REFINE_DPU * GLUE_MINIMUM_S / 3600)  # 4 vCPU a DPU


def costs(m: Measured, objects: float, rows: float, on_glue: bool, queries: float
          ) -> dict[str, float]:
    """USD per item for ``objects`` objects holding ``rows`` rows, anonymised and refined
    by the Glue jobs (objects above ``lambda_max_bytes``) or else by the Lambda stages."""
    gb_s = objects * lambda_object(m, rows / objects if objects else 0.0, on_glue)
    runs = int(objects) if on_glue else 0
    refine = glue_dpu_hours(rows * m.refine_core_s_per_row, runs) if on_glue else 0.0
    anonymise = glue_dpu_hours(rows * m.anonymise_core_s_per_row, runs) if on_glue else 0.0
    scanned = queries * max(m.athena_bytes_per_query, ATHENA_MINIMUM_BYTES)
    return {
        "lambda GB-s": gb_s, "lambda USD": gb_s * LAMBDA_GB_SECOND + objects * 9 * LAMBDA_REQUEST,
        "glue DPU-h": refine + anonymise, "glue USD": (refine + anonymise) * GLUE_DPU_HOUR,
        "step functions USD": objects * TRANSITIONS_PER_OBJECT * STEP_TRANSITION,
        "s3 requests USD": objects * (S3_PUTS_PER_OBJECT * S3_PUT + S3_GETS_PER_OBJECT * S3_GET),
        "athena bytes": scanned, "athena USD": scanned * ATHENA_BYTE,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files-per-day", type=int, default=10_000)
    parser.add_argument("--file-mb", type=float, default=1.0)
    parser.add_argument("--backfill-tb", type=float, default=1.0)
    args = parser.parse_args()
    m = Measured.read()
    day_rows = args.files_per_day * args.file_mb * 1e6 / CSV_BYTES_PER_ROW
    backfill_bytes = args.backfill_tb * 1e12
    loads = {
        f"{args.files_per_day:,} files/day of {args.file_mb:g} MB (per day)":
            costs(m, args.files_per_day, day_rows, False, QUERIES_PER_DAY),
        f"{args.backfill_tb:g} TB backfill, {LAMBDA_MAX_BYTES / 1e6:.0f} MB objects (Lambda)":
            costs(m, backfill_bytes / LAMBDA_MAX_BYTES, backfill_bytes / CSV_BYTES_PER_ROW,
                  False, 0),
        f"{args.backfill_tb:g} TB backfill, 1 GB objects (Glue)":
            costs(m, backfill_bytes / 1e9, backfill_bytes / CSV_BYTES_PER_ROW, True, 0),
    }
    print(f"measured: anonymise {m.clean_cpu_s_per_row * 1e6:.2f} CPU-us/row (Lambda path), "
          f"Glue anonymise {m.anonymise_core_s_per_row * 1e6:.1f} and refine "
          f"{m.refine_core_s_per_row * 1e6:.1f} core-us/row, Arrow refine "
          f"{m.arrow_refine_s_per_row * 1e6:.2f} us/row, Publish {m.publish_s:.2f} "
          f"s/object{'' if m.publish_measured else ' (assumed: run bench/publish.py)'}, "
          f"Athena {m.athena_bytes_per_query:,.0f} B/query")
    for load, figures in loads.items():
        total = sum(v for k, v in figures.items() if k.endswith("USD"))
        print(f"\n{load}: USD {total:,.2f}")
        for item, value in figures.items():
            print(f"  {item:<20} {value:>16,.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
