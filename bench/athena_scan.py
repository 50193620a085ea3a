"""Athena scan cost: bytes the analysts' canonical queries read from refined Parquet vs raw CSV.

Athena bills the bytes it reads. On refined Parquet it reads only the partitions the
``WHERE`` clause keeps (partition pruning: Hive folders) and, in those files, only the
column chunks of the columns the query uses (column pruning), plus each file's footer.
On raw CSV it must read every raw file of the dataset: CSV has neither. The refined data
is made locally, without AWS, by the same Arrow functions the Lambda stages call, and
written as Publish commits it: by pyiceberg's writer (the function ``replace_rows`` calls),
with the table's Iceberg schema (field ids, lineage columns filled in as ``with_lineage``
fills them), identity partitions and table properties (``table_properties``: zstd, at level
19 for the anomalies table), so one Parquet file per raw file and partition under the
table's ``data/`` Hive folders, the partition columns kept in the file, and the footer
holding the Arrow schema pyiceberg stores. Bytes are counted from the Parquet metadata
(compressed column-chunk sizes), so the figure is exactly what a columnar reader fetches.
Queries:

(a) ``SELECT ts, value, lower, upper, score, reason FROM refined.anomalies WHERE
dataset = 'matches' AND season = '1996-97' AND entity = 'Marseille' AND is_anomaly``
(reads entity, ts, value, lower, upper, score, reason, is_anomaly of one partition);
(b) ``SELECT departement, month, sum(absences) FROM refined.absences_monthly WHERE
year = '2023' GROUP BY departement, month`` (reads departement, month, absences of one
partition).

Run: ``.venv/bin/python bench/athena_scan.py [--absence-rows 100000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from pyiceberg.table.metadata import TableMetadata

sys.path.insert(0, str(Path(__file__).resolve().parent))
from absences_sample import sample
from results_table import check, record

from lakeguard.contracts import load_contract
from lakeguard.exceptions import InsufficientHistory
from lakeguard.layout import key_id, partition_path, run_id
from lakeguard.ml import detectors
from lakeguard.ml.anomalies import entity_series, score_entity
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.tables import REFINED, Source, TableSpec, find
from lakeguard.tables.commit import with_lineage
from lakeguard.tables.ensure import table_properties
from lakeguard.tables.spec import ANOMALIES
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

ROOT = Path(__file__).resolve().parents[1]
SEASONS = ROOT / "data" / "football" / "ligue1"
TARGET = 0.02  # at least 50x fewer bytes
ANOMALY_COLUMNS = ["entity", "ts", "value", "lower", "upper", "score", "reason", "is_anomaly"]
ABSENCE_COLUMNS = ["departement", "month", "absences"]


def table_metadata(spec: TableSpec, root: Path) -> TableMetadata:
    """The Iceberg metadata ``ensure_tables`` gives ``spec``'s table, located under ``root``."""
    from pyiceberg.catalog import Catalog
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import assign_fresh_schema_ids
    from pyiceberg.table.metadata import new_table_metadata
    from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
    from pyiceberg.transforms import IdentityTransform

    schema = assign_fresh_schema_ids(Catalog._convert_schema_if_needed(spec.schema))
    partitions = PartitionSpec(*[
        PartitionField(source_id=schema.find_field(name).field_id, field_id=1000 + i,
                       transform=IdentityTransform(), name=name)
        for i, name in enumerate(spec.partition_by)])
    return new_table_metadata(schema, partitions, UNSORTED_SORT_ORDER,
                              f"file://{root / spec.name}", table_properties(spec))


def write_partitioned(rows: pa.Table, root: Path, spec: TableSpec, source: str) -> None:
    """One raw file's rows as Publish commits them: a data file per partition of the table."""
    from pyiceberg.io.pyarrow import PyArrowFileIO, _dataframe_to_data_files

    metadata = table_metadata(spec, root)
    lineage = Source(run_id(source.split("/")[0], "raw", source, None), key_id(source), source,
                     None, None)
    for _ in _dataframe_to_data_files(table_metadata=metadata, io=PyArrowFileIO(),
                                      df=with_lineage(rows, metadata.schema().as_arrow(), lineage)):
        pass


def scanned_bytes(folder: Path, columns: list[str]) -> tuple[int, int]:
    """(bytes, files) a columnar reader fetches for ``columns`` of every file under ``folder``."""
    total, files = 0, 0
    for path in sorted(folder.rglob("*.parquet")):
        meta = pq.ParquetFile(path).metadata
        files += 1
        total += meta.serialized_size + 8 + 4  # footer, its length and the magic at both ends
        names = meta.schema.names
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            total += sum(group.column(i).total_compressed_size
                         for i, name in enumerate(names) if name in columns)
    return total, files


def anomalies_lake(root: Path) -> list[Path]:
    """refined.anomalies of the bundled seasons: team_matches scored by each team's model."""
    contract = load_contract("matches")
    assert contract.model is not None
    spec = contract.model
    files = sorted(SEASONS.glob("*.csv"))
    per_file = [refine_table(parse_table(f.read_bytes(), contract)[0],
                             contract.refined_table(spec.table), contract) for f in files]
    refined = pa.concat_tables(per_file)
    scored = []
    for entity in sorted(pc.unique(refined[spec.entity]).to_pylist()):
        series = entity_series(refined, spec, entity)
        values = series[spec.value].to_numpy(zero_copy_only=False).astype(np.float64)
        try:
            model = detectors.fit(spec.detector, values, spec.params)
        except InsufficientHistory:
            continue
        scored.append(score_entity(series, spec, entity, model, "bench", contract.name))
    anomalies = pa.concat_tables(scored)
    for f, rows in zip(files, per_file, strict=True):  # one object per raw file and partition
        part = anomalies.filter(pc.is_in(anomalies["season"], pc.unique(rows[spec.period])))
        write_partitioned(part, root, ANOMALIES, f"matches/{f.name}")
    return files


def absences_lake(root: Path, rows: int) -> list[Path]:
    """refined.absences_monthly of one generated file, anonymised then refined."""
    contract = load_contract("absences")
    raw = sample(rows)
    clean, _ = anonymise(raw.read_bytes(), contract, PseudonymKey("bench", b"s" * 32))
    table = contract.refined_table("absences_monthly")
    write_partitioned(refine_table(clean, table, contract), root, find(REFINED, table.table),
                      f"absences/{raw.name}")
    return [raw]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--absence-rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seasons = anomalies_lake(root)
        raw_matches = sum(f.stat().st_size for f in seasons)
        partition = (root / ANOMALIES.name / "data"
                     / partition_path(ANOMALIES.partition_by, ("matches", "1996-97")))
        a_bytes, a_files = scanned_bytes(partition, ANOMALY_COLUMNS)
        marseille = pq.read_table(partition, columns=["entity", "is_anomaly"])
        hits = marseille.filter(pc.and_(pc.equal(marseille["entity"], "Marseille"),
                                        marseille["is_anomaly"])).num_rows
        a = check("athena_scan_team_anomalies", a_bytes, raw_matches, "B",
                  f"ratio <= {TARGET} (>= 50x fewer bytes than raw CSV)",
                  lambda r: r <= TARGET, partition="dataset=matches/season=1996-97",
                  columns=ANOMALY_COLUMNS, parquet_files=a_files, raw_files=len(seasons),
                  refined_bytes_all_partitions=scanned_bytes(root / ANOMALIES.name,
                                                             ANOMALY_COLUMNS)[0],
                  answer_rows=hits)
        raw_absences = absences_lake(root, args.absence_rows)
        raw_bytes = sum(f.stat().st_size for f in raw_absences)
        year = root / "absences_monthly" / "data" / "year=2023"
        b_bytes, b_files = scanned_bytes(year, ABSENCE_COLUMNS)
        b = check("athena_scan_absences_monthly", b_bytes, raw_bytes, "B",
                  f"ratio <= {TARGET} (>= 50x fewer bytes than raw CSV)",
                  lambda r: r <= TARGET, partition="year=2023", columns=ABSENCE_COLUMNS,
                  parquet_files=b_files, raw_files=len(raw_absences), raw_rows=args.absence_rows,
                  answer_rows=pq.read_table(year).num_rows)
    for result in (a, b):
        record(result)
        print(f"{result.name}: {result.measured:,.0f} B of Parquet vs {result.baseline:,.0f} B of "
              f"CSV = {result.ratio:.5f} ({1 / result.ratio:,.0f}x fewer); target {result.target}: "
              f"{'met' if result.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
