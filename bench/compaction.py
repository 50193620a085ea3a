"""Compaction's cost, and what it buys: rewriting a month of small files on the embedded AWS.

A month of absences arrives as many small objects (one per site and day), each published
as its own data file in the month's partition of ``refined.absences_monthly``-like table.
The benchmark publishes ``--files`` such commits into one partition, then measures:

- the compaction's wall time (read every small file, write one, one catalog commit);
- the baseline: the same rows read from those files and written as one Parquet file with
  pyarrow alone, with no catalog (the floor of any rewrite);
- a full scan of the table before and after (what compaction buys every reader).

The README's cost figure comes from ``seconds_per_mib``: a run's Lambda GB-seconds are its
memory (2 GB) times its duration.

Run: ``.venv/bin/python bench/compaction.py [--files 200] [--rows 500]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import check, record

if TYPE_CHECKING:
    from pyiceberg.table import Table

TARGET = 3.0  # compaction within 3x the plain pyarrow rewrite of the same bytes


def _publish_small_files(table: Table, files: int, rows: int) -> None:
    from lakeguard.tables import Source, replace_rows
    from lakeguard.tables.commit import with_lineage

    for i in range(files):
        source = Source(f"run-{i}", f"key-{i}", f"absences/site{i}.csv", "v", "digest")
        batch = pa.table({"site": [f"site-{i}"] * rows, "absences": list(range(rows)),
                          "month": ["2024-01"] * rows})
        replace_rows(table.refresh(), with_lineage(batch, table.schema().as_arrow(), source),
                     source)
        if (i + 1) % 50 == 0:
            print(f"-- published {i + 1}/{files} small files", flush=True)


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    """Publish, compact, compare; write ``bench/results/compaction.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="small files in the partition")
    parser.add_argument("--rows", type=int, default=500, help="rows per small file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})

    import boto3

    from lakeguard.local import gaps
    from lakeguard.local.server import start_embedded_aws
    from lakeguard.tables import Names, TableSpec, ensure_tables
    from lakeguard.tables.catalog import glue_catalog
    from lakeguard.tables.commit import read_data_file
    from lakeguard.tables.compaction import compact_table
    from lakeguard.tables.maintenance import current_files
    from lakeguard.tables.spec import LINEAGE

    aws = start_embedded_aws()
    gaps.refuse_stale_glue_table_versions()
    try:
        names = Names("bench_clean", "bench_refined", "bench-clean", "bench-refined")
        for bucket in (names.clean_bucket, names.refined_bucket):
            boto3.client("s3").create_bucket(Bucket=bucket)
        for database in (names.clean_database, names.refined_database):
            boto3.client("glue").create_database(DatabaseInput={"Name": database})
        spec = TableSpec("refined", "absences_daily", pa.schema(
            [("site", pa.string()), ("absences", pa.int64()), ("month", pa.string()),
             *LINEAGE]), ("month",), "compaction benchmark")
        ensure_tables((spec,), names)
        table = glue_catalog().load_table(spec.identifier(names))
        _publish_small_files(table, args.files, args.rows)
        table.refresh()
        files = [task.file for task in table.scan().plan_files()]
        size = sum(f.file_size_in_bytes for f in files)
        scan_before, _ = _timed(lambda: table.scan().to_arrow())

        def plain_rewrite() -> int:
            rows = pa.concat_tables([read_data_file(table, f) for f in files])
            sink = io.BytesIO()
            pq.write_table(rows, sink, compression="zstd")
            return len(sink.getvalue())

        baseline, _ = _timed(plain_rewrite)
        seconds, done = _timed(lambda: compact_table(table, min_files=5))
        table.refresh()
        scan_after, rows_after = _timed(lambda: table.scan().to_arrow())
        assert rows_after.num_rows == args.files * args.rows
        assert len(current_files(table)) == 1
    finally:
        with contextlib.suppress(Exception):
            aws.stop()
    mib = size / 2**20
    result = check(
        "compaction_seconds", seconds, baseline, "s", f"<= {TARGET}x a plain pyarrow rewrite",
        lambda ratio: ratio <= TARGET, files=args.files, rows_per_file=args.rows,
        input_mib=round(mib, 3), seconds_per_mib=round(seconds / mib, 3),
        compacted=done.to_json(),
        scan_seconds_before=round(scan_before, 3), scan_seconds_after=round(scan_after, 3),
        scan_speedup=round(scan_before / scan_after, 2))
    print(f"compaction of {args.files} files ({mib:.2f} MiB): {seconds:.2f} s, plain rewrite "
          f"{baseline:.2f} s (x{result.ratio:.2f}); a full scan {scan_before:.2f} s -> "
          f"{scan_after:.2f} s")
    print(f"wrote {record(result)}")


if __name__ == "__main__":
    main()
