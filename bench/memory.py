"""Bounded memory: peak RSS of the anonymise step on ~200 MB and on ~2 GB of CSV.

Each size runs in a fresh interpreter (``--child``), which anonymises the file the way
the clean stage does, streamed (:func:`anonymise_stream` reading the file in blocks, the
stage's ``PartitionWriter`` appending Parquet per partition), and reports its own peak
resident set (``getrusage(RUSAGE_SELF).ru_maxrss``). Both files tile the same generated
100,000-row chunk (same people, so the same distinct identities: what the leak guard and
the pseudonym cache hold grows with the people in a file, not with its size), so the only
difference is the size. Results: ``anonymise_memory_2gb_vs_200mb`` (target: at most 1.2x)
and ``anonymise_memory_absolute`` (the 2 GB peak against 1 GiB, target: below).
``anonymise_memory_2gb_new_people`` runs the 2 GB file again with new people in every
repetition (about 27 times the people), against the 200 MB run (target: at most 1.2x):
memory must not grow with identities either. Takes about five minutes on 2 idle cores.
Run: ``.venv/bin/python bench/memory.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from absences_sample import tile
from results_table import check, record, table

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30
#: Data rows of about 200 MB and 2 GB of generated absences (~155 bytes a row).
SIZES = {"200mb": 1_290_000, "2gb": 12_900_000}
NEW_PEOPLE = "2gb_new_people"


def child(source: Path) -> int:
    """Anonymise ``source`` as the clean stage does; print peak RSS (bytes) and timings."""
    from anonymise import ours

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        _, report = ours(source, Path(folder))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"peak_bytes": peak, "seconds": round(time.perf_counter() - start, 1),
                      "rows_in": report.rows_in, "rows_out": report.rows_out}))
    return 0


def measure(source: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", str(source)], check=True,
                          capture_output=True, text=True, cwd=ROOT)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> int:
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, rows, fresh in [*((label, rows, False) for label, rows in SIZES.items()),
                                   (NEW_PEOPLE, SIZES["2gb"], True)]:
            source = tile(Path(tmp) / f"absences-{label}.csv", rows, fresh_identities=fresh)
            runs[label] = {"csv_bytes": source.stat().st_size, **measure(source)}
            source.unlink()
    small, large = runs["200mb"]["peak_bytes"], runs["2gb"]["peak_bytes"]
    details = {"runs": runs, "method": "fresh interpreter per size, getrusage ru_maxrss"}
    results = [
        check("anonymise_memory_2gb_vs_200mb", large / 2**20, small / 2**20, "MiB",
              "ratio <= 1.2", lambda r: r <= 1.2, **details),
        check("anonymise_memory_absolute", large / 2**20, GIB / 2**20, "MiB", "ratio < 1",
              lambda r: r < 1, **details),
    ]
    results.append(check(
        "anonymise_memory_2gb_new_people", runs[NEW_PEOPLE]["peak_bytes"] / 2**20,
        small / 2**20, "MiB", "ratio <= 1.2", lambda r: r <= 1.2,
        **details, note="the 2 GB file again, each 100,000-row repetition with new NIRs "
                        "(about 27 times the people), against the 200 MB run"))
    for result in results:
        record(result)
    print(table([r.to_json() for r in results]))
    for label, run in runs.items():
        print(f"{label}: {run['csv_bytes'] / 1e6:,.0f} MB CSV, {run['rows_in']:,} rows, "
              f"peak {run['peak_bytes'] / 2**20:,.0f} MiB, {run['seconds']} s")
    return 0  # a missed target is a figure, not an error: results_table.py reports it


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.exit(child(args.child) if args.child else main())
