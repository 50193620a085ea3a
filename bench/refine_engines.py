"""Refine one season file with the Arrow path (Lambda) and the Spark path (Glue), same input.

Prints the Spark/Arrow time ratio on warm engines (the Spark session is started before
timing), and checks both produce the same rows. Run: ``.venv/bin/python bench/refine_engines.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import BenchResult, record

from lakeguard.contracts import load_contract
from lakeguard.glue.refine_job import run
from lakeguard.local.scratch import scratch_lake
from lakeguard.local.spark import local_spark
from lakeguard.tables.branches import branch_rows
from lakeguard.tables.catalog import glue_catalog
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

ROOT = Path(__file__).resolve().parents[1]


def main(repeats: int = 5) -> int:
    contract = load_contract("matches")
    table = contract.refined_table("team_matches")
    files = sorted((ROOT / "data" / "football" / "ligue1").glob("*.csv"))
    clean = [parse_table(f.read_bytes(), contract)[0] for f in files]
    with tempfile.TemporaryDirectory() as tmp, scratch_lake("matches") as names:
        spark = local_spark()
        inputs = []
        for i, t in enumerate(clean):
            path = Path(tmp) / f"clean-{i}.parquet"
            pq.write_table(t, path)
            inputs.append(str(path))
        arrow_times, spark_times = [], []
        for attempt in range(repeats):
            start = time.perf_counter()
            arrow_rows = sum(refine_table(t, table, contract).num_rows for t in clean)
            arrow_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            run(spark, "matches", inputs, names.refined_database, f"bench-{attempt}")
            spark_times.append(time.perf_counter() - start)
        handed = branch_rows(glue_catalog().load_table((names.refined_database, table.table)),
                             "bench-0")
        spark_rows = 0 if handed is None else handed.num_rows
    arrow, spark_s = statistics.median(arrow_times), statistics.median(spark_times)
    result = BenchResult("refine_engines", round(spark_s, 4), round(arrow, 4), "s",
                         "information (no target)", None,
                         {"rows": arrow_rows, "same_rows": arrow_rows == spark_rows,
                          "files": len(files), "repeats": repeats,
                          "engines": "measured = Spark (local, warm session), baseline = Arrow"})
    record(result)
    print(f"{'engine':<8} {'median s':>9}  rows")
    print(f"{'arrow':<8} {arrow:>9.3f}  {arrow_rows}")
    print(f"{'spark':<8} {spark_s:>9.3f}  {spark_rows}")
    print(f"spark/arrow = {result.ratio:.1f}x on {len(files)} seasons (local Spark, warm session)")
    return 0 if result.details["same_rows"] else 1


if __name__ == "__main__":
    sys.exit(main())
