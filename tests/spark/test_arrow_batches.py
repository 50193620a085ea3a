"""The Arrow pass gives the same rows, findings and identifiers whatever its batch size.

The job raises Spark's batch size for ``mapInArrow`` (:data:`BATCH_ROWS`) to spread the
Arrow functions' fixed cost; nothing they compute may depend on where a batch ends.
"""

from datetime import date

import pytest

from lakeguard.contracts import load_contract
from lakeguard.glue.anonymise_job import read_raw
from lakeguard.glue.arrow_pass import (
    BATCH_ROWS,
    ERROR,
    WARNING,
    arrow_pass,
    batch_rows,
    clean_rows,
    findings,
    sensitive_values,
)
from lakeguard.glue.preflight import preflight
from lakeguard.samples.absences import generate
from lakeguard.samples.adversarial import plant

pytestmark = pytest.mark.spark
TODAY = date(2025, 6, 30)
_SETTING = "spark.sql.execution.arrow.maxRecordsPerBatch"


def _everything(spark, raw, contract, rows_per_batch):
    spark.conf.set(_SETTING, str(rows_per_batch))
    passed = arrow_pass(raw, contract, TODAY).cache()
    try:
        return ({"rows": sorted(map(tuple, clean_rows(passed, contract).collect()), key=repr),
                 "identifiers": sorted(sensitive_values(passed).to_pylist())}
                | {severity: sorted(map(tuple, findings(passed, severity).collect()))
                   for severity in (ERROR, WARNING)})
    finally:
        passed.unpersist()


def test_the_arrow_pass_does_not_depend_on_its_batch_size(spark, tmp_path):
    # GIVEN a month of absences with invalid NIRs and every planted identifier, in one
    # Spark partition (so batches, not partitions, cut it)
    data, _ = plant(generate(3000, seed=13, first=date(2025, 1, 1), days=31,
                             invalid_nir_rate=0.01), seed=13)
    (tmp_path / "in.csv").write_text(data, encoding="utf-8")
    contract = load_contract("absences")
    raw = read_raw(spark, str(tmp_path / "in.csv"), contract,
                   preflight(str(tmp_path / "in.csv"), contract)).coalesce(1)
    before = spark.conf.get(_SETTING)
    try:
        # WHEN the pass runs in batches of 97 rows, then of the job's size
        small = _everything(spark, raw, contract, 97)
        batch_rows(spark)
        assert spark.conf.get(_SETTING) == str(BATCH_ROWS)
        large = _everything(spark, raw, contract, BATCH_ROWS)
    finally:
        spark.conf.set(_SETTING, before)
    # THEN every clean row, finding (first of its row included) and identifier is the same
    assert small == large
    assert len(small["rows"]) > 2900 and small[ERROR] and small["identifiers"]
