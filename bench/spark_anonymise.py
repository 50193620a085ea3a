"""The Glue anonymise job against a plain Spark copy of the same CSV, in the same session.

Baseline: Spark reads the generated absences CSV and writes it as zstd Parquet, no
transform (the floor any Spark job over that file pays). Measured: the anonymise job's
``run`` on the same file, as Glue runs it (one ``mapInArrow`` for typing and the Arrow
policies, pseudonyms keyed with Spark's own ``sha2``, k-anonymity in Spark, the leak
guard, written onto the run's branch of the Iceberg clean table). Both alternate on a warm
session; medians are taken. Rows per second per core are printed too: local Spark runs
on this machine's cores, Glue on ``2 x workers`` per G.1X worker (8 with 4 vCPU each),
so the per-core figure predicts a job on N workers. Target (issue 20): at most 2x the copy.
Run: ``.venv/bin/python bench/spark_anonymise.py [--rows 1000000] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from absences_sample import sample
from results_table import check, record, table

from lakeguard.glue.anonymise_job import run
from lakeguard.local.scratch import scratch_lake
from lakeguard.local.spark import local_spark
from lakeguard.privacy.pseudonym import PseudonymKey

KEY = PseudonymKey("bench", b"k" * 32)


def copy(spark, source: Path, folder: Path) -> float:  # type: ignore[no-untyped-def]
    """Seconds for Spark to read the CSV and write it as Parquet, untouched."""
    start = time.perf_counter()
    (spark.read.option("header", True).option("sep", ";").csv(str(source))
     .write.mode("overwrite").option("compression", "zstd").parquet(str(folder / "copy")))
    return time.perf_counter() - start


def anonymise(spark, source: Path, database: str, run_id: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds for the anonymise job on the file, and the rows it kept."""
    start = time.perf_counter()
    report = run(spark, "absences", str(source), database, run_id, KEY)
    return time.perf_counter() - start, report.rows_out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    source = sample(args.rows)
    with tempfile.TemporaryDirectory() as folder, scratch_lake("absences") as names:
        spark = local_spark()
        cores = spark.sparkContext.defaultParallelism
        print(f"-- warm-up on {args.rows} rows, local Spark on {cores} cores")
        copy(spark, source, Path(folder))
        anonymise(spark, source, names.clean_database, "bench-warm")
        copies, jobs, kept = [], [], 0
        for attempt in range(args.repeats):
            copies.append(copy(spark, source, Path(folder)))
            seconds, kept = anonymise(spark, source, names.clean_database, f"bench-{attempt}")
            jobs.append(seconds)
            print(f"-- run {attempt + 1}/{args.repeats}: copy {copies[-1]:.1f} s, "
                  f"anonymise {seconds:.1f} s")
    measured, baseline = statistics.median(jobs), statistics.median(copies)
    result = check("spark_anonymise_vs_copy", round(measured, 2), round(baseline, 2), "s",
                   "at most 2x a Spark CSV->Parquet copy", lambda ratio: ratio <= 2.0,
                   rows=args.rows, rows_out=kept, cores=cores,
                   rows_per_s_per_core_job=round(args.rows / measured / cores),
                   rows_per_s_per_core_copy=round(args.rows / baseline / cores),
                   repeats=args.repeats)
    record(result)
    print(table([result.to_json()]))
    print(f"per core: anonymise {result.details['rows_per_s_per_core_job']} rows/s, "
          f"copy {result.details['rows_per_s_per_core_copy']} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
