"""CleanReport through its handler: the Glue anonymise job's report becomes Clean's result.

The job itself needs Spark (``tests/spark``); here its output is laid out as Spark writes
it (``<prefix>/<dataset>/season=.../part-*.parquet``, partition columns in the path only,
and ``report.json`` beside it), from rows the Lambda path typed.
"""

import io

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakeguard.aws import client
from lakeguard.exceptions import ValidationFailed
from lakeguard.layout import staging_prefix
from lakeguard.s3io import put_json, read_parquet
from tests.functional.conftest import SEASON, Lake

#: What the job reports (``lakeguard.glue.anonymise_job.run``) for a season of matches.
REPORT = {"rows_in": 380, "rows_out": 380, "rows_rejected": 0, "rows_suppressed": 0,
          "rows_warned": 0, "k_required": None, "k_achieved": None, "key_version": None,
          "input_sha256": "0" * 64, "rejects": [], "warnings": []}


def _as_spark_wrote_it(lake: Lake, state: dict) -> dict:
    """Validate and clean on the Lambda path, then lay the rows out as the Glue job does."""
    state["validation"] = Lake.invoke("validate", state)
    rows = read_parquet(Lake.invoke("clean", state)["outputs"])
    prefix = staging_prefix(state["run_id"])
    s3 = client("s3")
    for key in lake.keys("clean", prefix):
        s3.delete_object(Bucket=lake.settings.clean_bucket, Key=key)
    for season in sorted(set(rows["season"].to_pylist())):
        part = rows.filter(pc.equal(rows["season"], season)).drop_columns(["season"])
        body = io.BytesIO()
        pq.write_table(part, body, compression="zstd")
        s3.put_object(Bucket=lake.settings.clean_bucket, Body=body.getvalue(),
                      Key=f"{prefix}matches/season={season}/part-00000-1f3a.c000.zstd.parquet")
    return {**state, "dataset": "matches"}


def test_the_job_report_reads_as_the_lambda_clean_result(served_lake: Lake):
    lake = served_lake  # the quality gate reads the published clean table
    # GIVEN the anonymise job's partitions and report under the run's staging prefix
    state = _as_spark_wrote_it(lake, lake.drop("matches/2006-07.csv", SEASON))
    put_json(REPORT, lake.settings.clean_bucket, f"{staging_prefix(state['run_id'])}report.json")
    # WHEN CleanReport runs
    result = Lake.invoke("clean_report", state)
    # THEN it returns the report's counts with the staged objects and their partitions
    assert {k: result[k] for k in REPORT} == REPORT
    assert result["partitions"] == ["season=2006-07"]
    assert result["outputs"] == [
        f"s3://{lake.settings.clean_bucket}/{staging_prefix(state['run_id'])}matches/"
        "season=2006-07/part-00000-1f3a.c000.zstd.parquet"]
    # and the quality gate reads it as it reads the Lambda path's (season from the path)
    state["clean"] = result
    assert Lake.invoke("quality", state)["rows"] == 380


def test_a_job_that_left_no_report_is_refused_naming_where_it_looked(lake: Lake):
    state = _as_spark_wrote_it(lake, lake.drop("matches/2006-07.csv", SEASON))
    with pytest.raises(ValidationFailed) as raised:
        Lake.invoke("clean_report", state)
    assert f"s3://{lake.settings.clean_bucket}/{staging_prefix(state['run_id'])}" in \
        str(raised.value)
