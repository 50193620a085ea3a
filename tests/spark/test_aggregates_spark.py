"""Aggregating refine transforms: the Glue job's Spark group-by equals the Arrow path."""

import pyarrow.parquet as pq
import pytest

from lakeguard.contracts import load_contract
from lakeguard.glue.refine_job import run
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.samples.absences import generate
from lakeguard.tables.branches import branch_rows
from lakeguard.tables.catalog import glue_catalog
from lakeguard.transforms.refine import refine_table

pytestmark = pytest.mark.spark


def test_absence_aggregates_are_identical_on_spark_and_arrow(spark, scratch, tmp_path):
    contract = load_contract("absences")
    clean, _ = anonymise(generate(4000, seed=9).encode(), contract, PseudonymKey("t", b"s" * 32))
    pq.write_table(clean, tmp_path / "clean.parquet")
    run(spark, "absences", [str(tmp_path / "clean.parquet")], scratch.refined_database, "agg")
    for table in contract.refined:
        expected = refine_table(clean, table, contract)
        produced = branch_rows(glue_catalog().load_table((scratch.refined_database,
                                                          table.table)), "agg")
        assert produced is not None
        produced = produced.select(expected.column_names).cast(expected.schema)
        key = [(c, "ascending") for c in expected.column_names]
        assert produced.sort_by(key).to_pylist() == expected.sort_by(key).to_pylist()
        assert expected.num_rows > 0
        if "segment" in expected.column_names:  # the series the absences model watches
            first = expected.slice(0, 1).to_pylist()[0]
            assert first["segment"] == f"{first['departement']} / {first['reason']}"
