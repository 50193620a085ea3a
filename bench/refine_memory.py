"""Refine Lambda memory: peak RSS of the Refine stage on an object at the Lambda route's limit.

Objects up to ``lambda_max_bytes`` (256 MiB) are refined in Lambda, not in Glue: the stage
reads the run's whole clean table into memory and derives each refined table from it. This
bench makes sure such an object fits the function's memory with room to spare. It
generates absences CSV of ``lambda_max_bytes`` (new people in every 100,000 rows), has the
clean stage's anonymise step write its clean Parquet (not measured), then, in a fresh
interpreter, runs :func:`lakeguard.pipeline.refine.refine` itself on moto in process: it
downloads the clean objects, derives the refined tables and uploads them. moto keeps every
object it is given in the same process, so the figure counts the clean and refined bytes a
second time and overstates the function's peak by that much (reported in the details).
Result: ``refine_memory_at_lambda_limit``, the peak against the function's configured memory
(``stacks/processing.py``), target at most 0.75 (Lambda's runtime and a larger-than-usual
object keep the rest). Takes about two minutes on 2 cores.
Run: ``.venv/bin/python bench/refine_memory.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from absences_sample import tile
from anonymise import KEY
from results_table import check, record, table

from lakeguard.config import DEFAULT_LAMBDA_MAX_BYTES
from lakeguard.contracts import load_contract
from lakeguard.pipeline.clean import PartitionWriter
from lakeguard.privacy.anonymise import anonymise_stream

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.75
#: Generated absences rows take about 155 bytes each.
ROW_BYTES = 155
BUCKETS = {"clean": "bench-clean", "refined": "bench-refined"}


def clean_objects(source: Path, folder: Path) -> list[Path]:
    """The clean Parquet objects the clean stage stages for ``source`` (one per partition)."""
    contract = load_contract("absences")
    with source.open("rb") as raw:
        writer = PartitionWriter(folder, contract.partition_by)
        anonymise_stream(raw, contract, KEY, writer.write)
        for parquet in writer.writers.values():
            parquet.close()
    return sorted(folder.rglob("*.parquet"))


def peak_rss() -> int:
    """This process's peak resident set (bytes): ``VmHWM``, which counts only this program.

    ``getrusage``'s ``ru_maxrss`` would not do here: Linux carries into it the resident set
    the parent had when it forked this process, and the parent has just anonymised the file.
    """
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: this bench needs Linux")


def child(folder: Path, size: int) -> int:
    """Run Refine on moto over the clean objects in ``folder``; print the peak RSS (bytes)."""
    import boto3
    from moto import mock_aws

    from lakeguard.config import Settings
    from lakeguard.pipeline.refine import refine

    os.environ.update({"AWS_DEFAULT_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench"})
    contract = load_contract("absences")
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket,
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        outputs, clean_bytes = [], 0
        for path in sorted(folder.rglob("*.parquet")):
            key = f"_staging/bench/absences/{path.relative_to(folder).as_posix()}"
            s3.upload_file(str(path), BUCKETS["clean"], key)
            outputs.append(f"s3://{BUCKETS['clean']}/{key}")
            clean_bytes += path.stat().st_size
        before = peak_rss()
        state = {
            "bucket": "bench-raw", "key": "absences/bench.csv", "run_id": "bench", "size": size,
            "validation": {"dataset": "absences", "contract_version": contract.version,
                           "contract_digest": "bench", "size": size, "route": "lambda",
                           "has_model": contract.model is not None},
            "clean": {"rows_in": 0, "rows_out": 0, "rows_rejected": 0, "rows_suppressed": 0,
                      "rows_warned": 0, "input_sha256": "bench", "outputs": outputs},
        }
        settings = Settings(raw_bucket="bench-raw", clean_bucket=BUCKETS["clean"],
                            refined_bucket=BUCKETS["refined"], quarantine_bucket="bench-q",
                            artefacts_bucket="bench-a", glue_database="bench",
                            ledger_table="bench", clean_database="bench")
        result = refine(state, settings)
    peak = peak_rss()
    print(json.dumps({"peak_bytes": peak, "before_refine_bytes": before,
                      "clean_objects": len(outputs), "clean_bytes": clean_bytes,
                      "refined_rows": result.rows}))
    return 0


def main(size: int) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from stacks.processing import STAGES  # the CDK app's sizing: jsii, so only here

    memory_mib = STAGES["refine"].memory_mb
    with tempfile.TemporaryDirectory() as tmp:
        source = tile(Path(tmp) / "absences.csv", size // ROW_BYTES, fresh_identities=True)
        csv_bytes = source.stat().st_size
        print(f"-- {csv_bytes / 2**20:,.0f} MiB of absences CSV: anonymising into clean Parquet")
        folder = Path(tmp) / "clean"
        folder.mkdir()
        clean_objects(source, folder)
        source.unlink()
        print("-- refining in a fresh interpreter")
        done = subprocess.run([sys.executable, __file__, "--child", str(folder),
                               "--size", str(csv_bytes)], check=True, capture_output=True,
                              text=True, cwd=ROOT)
    run = json.loads(done.stdout.strip().splitlines()[-1])
    result = check("refine_memory_at_lambda_limit", run["peak_bytes"] / 2**20, memory_mib, "MiB",
                   f"ratio <= {TARGET}", lambda r: r <= TARGET, csv_bytes=csv_bytes, **run,
                   note="moto holds the clean and refined objects in the same process")
    record(result)
    print(table([result.to_json()]))
    return 0  # a missed target is a figure, not an error: results_table.py reports it


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=DEFAULT_LAMBDA_MAX_BYTES,
                        help="bytes of CSV to generate (default: lambda_max_bytes)")
    args = parser.parse_args()
    sys.exit(child(args.child, args.size) if args.child else main(args.size))
