"""End to end: the demo's pipeline phase, and the Spark path against the Lambda path.

(a) ``end_to_end_demo_files_per_minute``: the bundled Ligue 1 seasons dropped into the
embedded AWS as ``make demo`` drops them (``LocalLake.drop_in_order``, ``DEMO_AHEAD``
seasons ahead of the one waited for, each run held before its models and Publish until
the seasons before it ended), each waited for through the whole state machine
(validate, clean, quality, refine, models, publish). Only the drops are timed, not
starting the embedded AWS, synthesizing or deploying. Baseline, same
run: the same files through the stage functions' data work alone, in process, without
the embedded AWS (Arrow anonymise/parse + refine + zstd Parquet serialisation; model
training and scoring excluded), so the ratio shows what orchestration, S3 round trips,
the ledger and the models cost on top. Information only: the issue sets no target.

(b) ``end_to_end_spark_vs_lambda``: one absences file (1,000,000 rows by default) through
the Lambda path (Arrow ``anonymise`` + ``refine_table`` for every refined table) and the
Glue path (``anonymise_job`` then ``refine_job`` on local Spark, ``local[2]``, session
started before timing); ratio spark/arrow, information only.

Run: ``.venv/bin/python bench/end_to_end.py [--rows 1000000] [--skip-demo] [--skip-spark]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from absences_sample import sample
from results_table import BenchResult, record

from lakeguard.contracts import load_contract
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.s3io import table_to_parquet_bytes
from lakeguard.transforms.refine import refine_table

ROOT = Path(__file__).resolve().parents[1]
SEASONS = ROOT / "data" / "football" / "ligue1"
KEY = PseudonymKey("bench", b"s" * 32)
INFORMATION = "information (no target)"


def _arrow_path(data: bytes, dataset: str, key: PseudonymKey | None) -> int:
    """The Lambda path's data work on one object: clean rows, then every refined table."""
    contract = load_contract(dataset)
    # as the clean stage runs it: classes counted over the table are judged at Publish
    clean, _ = anonymise(data, contract, key,
                         suppress_classes=contract.privacy.k_scope == "object")
    table_to_parquet_bytes(clean)
    for table in contract.refined:
        table_to_parquet_bytes(refine_table(clean, table, contract))
    return int(clean.num_rows)


def demo(port: int) -> BenchResult:
    """(a) files/minute through the embedded AWS vs the same data work in process."""
    from lakeguard.cli.local import DEMO_AHEAD
    from lakeguard.local import LocalLake

    files = sorted(SEASONS.glob("*.csv"))
    start = time.perf_counter()
    for f in files:
        _arrow_path(f.read_bytes(), "matches", None)
    in_process = time.perf_counter() - start
    with LocalLake(port=port).start(progress=lambda m: print(f"-- {m}", flush=True)) as lake:
        start = time.perf_counter()
        results = list(lake.drop_in_order(files, "matches/", DEMO_AHEAD))
        wall = time.perf_counter() - start
    published = sum(r.outcome == "published" for r in results)
    measured, baseline = 60 * len(files) / wall, 60 * len(files) / in_process
    print(f"demo: {len(files)} files in {wall:.1f} s = {measured:.1f} files/min through the "
          f"embedded AWS; in process {in_process:.2f} s = {baseline:.0f} files/min; "
          f"published {published}/{len(files)}")
    return BenchResult("end_to_end_demo_files_per_minute", round(measured, 2), round(baseline, 2),
                       "files/min", INFORMATION, None,
                       {"files": len(files), "published": published,
                        "wall_seconds": round(wall, 2), "in_process_seconds": round(in_process, 3),
                        "baseline": "Arrow anonymise + refine + Parquet in process, no AWS"})


def spark_vs_lambda(rows: int) -> BenchResult:
    """(b) one absences file through Arrow (Lambda) and through the Glue jobs on local Spark."""
    from lakeguard.glue import anonymise_job, refine_job
    from lakeguard.local.scratch import scratch_lake
    from lakeguard.local.spark import local_spark
    from lakeguard.tables.branches import branch_rows
    from lakeguard.tables.catalog import glue_catalog

    with scratch_lake("absences") as names:
        path = sample(rows)
        data = path.read_bytes()
        start = time.perf_counter()
        arrow_rows = _arrow_path(data, "absences", KEY)
        arrow = time.perf_counter() - start
        del data
        spark = local_spark()
        spark.range(1).count()  # session and JVM up before timing
        start = time.perf_counter()
        report = anonymise_job.run(spark, "absences", str(path), names.clean_database, "bench",
                                   KEY)
        anonymise_s = time.perf_counter() - start
        refine_job.run(spark, "absences", [], names.refined_database, "bench",
                       names.clean_database)
        spark_s = time.perf_counter() - start
        handed = branch_rows(glue_catalog().load_table((names.clean_database, "absences")),
                             "bench", ("month",))
        spark_rows = 0 if handed is None else handed.num_rows
    print(f"spark vs lambda on {rows:,} rows: arrow {arrow:.1f} s, spark {spark_s:.1f} s "
          f"({spark_s / arrow:.2f}x); clean rows arrow {arrow_rows:,}, spark {spark_rows:,}")
    return BenchResult("end_to_end_spark_vs_lambda", round(spark_s, 3), round(arrow, 3), "s",
                       INFORMATION, None,
                       {"rows": rows, "raw_bytes": path.stat().st_size,
                        "clean_rows_arrow": arrow_rows, "clean_rows_spark": spark_rows,
                        "same_clean_rows": arrow_rows == spark_rows == report.rows_out,
                        "spark_anonymise_s": round(anonymise_s, 3),
                        "spark_refine_s": round(spark_s - anonymise_s, 3),
                        "spark": "local[2], warm session"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="absence rows for (b)")
    parser.add_argument("--port", type=int, default=5095, help="embedded AWS port for (a)")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    args = parser.parse_args(argv)
    ok = True
    if not args.skip_demo:
        result = demo(args.port)
        record(result)
        ok &= result.details["published"] == result.details["files"]
    if not args.skip_spark:
        result = spark_vs_lambda(args.rows)
        record(result)
        ok &= bool(result.details["same_clean_rows"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
