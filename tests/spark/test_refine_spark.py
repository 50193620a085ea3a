"""The Glue refine job's code on local pyspark writes the Arrow path's rows with Spark's own
Iceberg, on the run's branch of each refined table, and nothing on main."""

import json
import runpy
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakeguard.contracts import load_contract
from lakeguard.tables.branches import branch_rows, run_branches
from lakeguard.tables.catalog import glue_catalog
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import TRANSFORMS, refine_table

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[2]
SEASONS = ["1996-97_fr.1.csv", "2019-20_fr.1.csv"]


def _sorted_rows(rows):
    return sorted(rows, key=lambda r: (str(r["date"]), r["team"]))


def _run_job(arguments: list[str]) -> None:
    saved, sys.argv = sys.argv, ["refine.py", *arguments]
    try:
        runpy.run_path(str(ROOT / "glue_jobs" / "refine.py"), run_name="__main__")
    finally:
        sys.argv = saved


def test_glue_refine_job_matches_arrow_path_on_the_runs_branch(spark, scratch, tmp_path):
    contract = load_contract("matches")
    # GIVEN clean Parquet of two real seasons, as the Clean stage writes it
    inputs, expected = [], []
    for name in SEASONS:
        clean, report = parse_table((ROOT / "data/football/ligue1" / name).read_bytes(), contract)
        assert report.rows_rejected == 0
        path = tmp_path / f"{name}.parquet"
        pq.write_table(clean, path)
        inputs.append(str(path))
        expected.append(refine_table(clean, contract.refined_table("team_matches"), contract))
    # WHEN the real Glue job script runs on local Spark with Glue-style arguments, twice
    # (a retried run starts its branch again)
    arguments = ["--dataset", "matches", "--inputs", json.dumps(inputs), "--run_id", "r-1",
                 "--refined_database", scratch.refined_database,
                 "--clean_database", scratch.clean_database]
    _run_job(arguments)
    _run_job(arguments)
    # THEN team_matches holds exactly the Arrow path's rows on branch run_r-1, once
    table = glue_catalog().load_table((scratch.refined_database, "team_matches"))
    assert run_branches(table) == ["r-1"]
    produced = branch_rows(table, "r-1")
    assert produced is not None
    arrow_rows = [row for part in expected for row in part.to_pylist()]
    assert produced.num_rows == len(arrow_rows) == 2 * (380 + 279)
    assert set(produced["run_id"].to_pylist()) == {"r-1"}
    columns = list(expected[0].column_names)
    assert _sorted_rows(produced.select(columns).to_pylist()) == _sorted_rows(arrow_rows)
    # partitioned by season, as the table's spec says; and main shows nothing yet
    files = table.scan(snapshot_id=table.metadata.refs["run_r-1"].snapshot_id).plan_files()
    assert {f.file.partition[0] for f in files} == {"1996-97", "2019-20"}
    assert table.current_snapshot() is None or table.scan().to_arrow().num_rows == 0


def test_every_row_wise_transform_has_a_spark_twin():
    # GIVEN the refine transforms WHEN the Glue job looks for their Spark SQL twins
    from lakeguard.glue.refine_job import ROW_TWINS

    row_wise = {name for name, transform in TRANSFORMS.items() if transform.rows is not None}
    # THEN each row-wise one has its own (the test above holds it to the Arrow rows)
    assert row_wise == set(ROW_TWINS) and row_wise
