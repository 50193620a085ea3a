"""The Glue anonymise job (Spark, mapInArrow) gives exactly the Lambda path's clean rows."""

from datetime import date

import pytest

from lakeguard.contracts import load_contract
from lakeguard.glue.anonymise_job import run
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.samples.absences import generate
from lakeguard.samples.adversarial import plant
from lakeguard.tables.branches import branch_rows
from lakeguard.tables.catalog import glue_catalog

pytestmark = pytest.mark.spark
KEY = PseudonymKey("test", b"s" * 32)


def test_spark_and_arrow_paths_give_identical_clean_output(spark, scratch, tmp_path):
    # GIVEN one month of declarations with a few invalid NIRs, some small classes and
    # every class of the adversarial corpus planted
    data, _ = plant(generate(5000, seed=3, first=date(2025, 1, 1), days=31,
                             invalid_nir_rate=0.002), seed=3)
    (tmp_path / "in.csv").write_text(data)
    contract = load_contract("absences")
    # WHEN both engines anonymise it
    report = run(spark, "absences", str(tmp_path / "in.csv"), scratch.clean_database, "anon",
                 KEY, suppress_classes=True)
    expected, lambda_report = anonymise(data.encode(), contract, KEY)
    # (the job's rows are on the run's branch of the clean Iceberg table)
    produced = branch_rows(glue_catalog().load_table((scratch.clean_database, "absences")),
                           "anon")
    assert produced is not None
    # THEN the rows and every count are the same
    produced = produced.select(expected.column_names).cast(expected.schema)
    order = [(c, "ascending") for c in expected.column_names]
    assert produced.sort_by(order).to_pylist() == expected.sort_by(order).to_pylist()
    for field in ("rows_in", "rows_out", "rows_rejected", "rows_suppressed", "k_achieved",
                  "l_achieved", "k_counted_in"):
        assert getattr(report, field) == getattr(lambda_report, field), field
    assert lambda_report.rows_rejected > 0 and lambda_report.rows_suppressed > 0
    # and the job cached its passes uncompressed: compressing them cost more CPU than the
    # cache saved (lakeguard.glue.anonymise_job.cache_uncompressed, bench/spark_anonymise.py)
    assert spark.conf.get("spark.sql.inMemoryColumnarStorage.compressed") == "false"


def test_the_job_names_what_k_is_counted_over_when_publish_counts_it(spark, scratch, tmp_path):
    # GIVEN a month of declarations, and the contract's default: k counted over the table
    data = generate(300, seed=5, first=date(2025, 3, 1), days=31)
    (tmp_path / "in.csv").write_text(data)
    contract = load_contract("absences")
    # WHEN the job anonymises it without suppressing (Publish judges the classes)
    report = run(spark, "absences", str(tmp_path / "in.csv"), scratch.clean_database,
                 "table_k", KEY, suppress_classes=False)
    # THEN its result names the quasi-identifiers and sensitive column, as Clean's does
    assert report.quasi_identifiers == list(contract.privacy.quasi_identifiers) != []
    assert report.sensitive == contract.privacy.sensitive
    assert report.rows_suppressed == 0
