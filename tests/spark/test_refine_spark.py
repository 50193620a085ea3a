"""The Glue refine job's code on local pyspark gives the same rows as the Arrow path."""

import json
import runpy
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from lakeguard.contracts import load_contract
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[2]
SEASONS = ["1996-97_fr.1.csv", "2019-20_fr.1.csv"]


def _sorted_rows(table):
    return sorted(table.to_pylist(), key=lambda r: (str(r["date"]), r["team"]))


def test_glue_refine_job_matches_arrow_path(spark, tmp_path):
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
    # WHEN the real Glue job script runs on local Spark with Glue-style arguments
    argv = ["refine.py", "--dataset", "matches", "--inputs", json.dumps(inputs),
            "--output_uri", str(tmp_path / "out") + "/"]
    saved, sys.argv = sys.argv, argv
    try:
        runpy.run_path(str(ROOT / "glue_jobs" / "refine.py"), run_name="__main__")
    finally:
        sys.argv = saved
    # THEN team_matches holds exactly the Arrow path's rows, partitioned by season
    produced = ds.dataset(tmp_path / "out" / "team_matches", partitioning="hive").to_table()
    arrow_rows = [row for table in expected for row in table.to_pylist()]
    assert produced.num_rows == len(arrow_rows) == 2 * (380 + 279)
    produced_rows = [{**r, "season": str(r["season"])} for r in _sorted_rows(produced)]
    assert produced_rows == sorted(arrow_rows, key=lambda r: (str(r["date"]), r["team"]))
    assert sorted(p.name for p in (tmp_path / "out" / "team_matches").iterdir()
                  if p.is_dir()) == ["season=1996-97", "season=2019-20"]
