"""CleanReport through its handler: the Glue anonymise job's report becomes Clean's result.

The job itself needs Spark (``tests/spark``); here its rows are handed over as it hands
them: on the run's branch of the clean table, from rows the Lambda path typed, with
``report.json`` (the job's :class:`~lakeguard.pipeline.state.Clean`) under the run's
staging prefix.
"""

import pytest

from lakeguard.exceptions import ValidationFailed
from lakeguard.layout import staging_prefix
from lakeguard.s3io import put_json, read_parquet
from lakeguard.tables import CLEAN, load_table, read_table
from lakeguard.tables.branches import branch_rows, run_branch
from tests.functional.conftest import SEASON, Lake, hand_over

#: What the job reports (``lakeguard.glue.anonymise_job.run``) for a season of matches.
REPORT = {"rows_in": 380, "rows_out": 380, "rows_rejected": 0, "rows_suppressed": 0,
          "rows_warned": 0, "k_required": None, "k_achieved": None, "key_version": None,
          "input_sha256": "0" * 64, "rejects": [], "warnings": []}


def _report(state: dict) -> dict:
    """The job's report for the run: its counts and the branch it wrote."""
    return {**REPORT, "branch": run_branch(state["run_id"])}


def _as_spark_wrote_it(lake: Lake, state: dict, rows=None) -> dict:
    """Validate and clean on the Lambda path, then hand the rows over as the Glue job does."""
    state["validation"] = Lake.invoke("validate", state)
    clean = read_parquet(Lake.invoke("clean", state)["outputs"])
    hand_over(lake, state, CLEAN, "matches", clean if rows is None else rows(clean))
    return {**state, "dataset": "matches"}


def test_the_job_report_reads_as_the_lambda_clean_result(served_lake: Lake):
    lake = served_lake  # the quality gate reads the published clean table
    # GIVEN the anonymise job's rows on the run's branch and its report
    state = _as_spark_wrote_it(lake, lake.drop("matches/2006-07.csv", SEASON))
    put_json(_report(state), lake.settings.clean_bucket, f"{staging_prefix(state['run_id'])}report.json")
    # WHEN CleanReport runs
    result = Lake.invoke("clean_report", state)
    # THEN it returns the report's counts, no staged objects and the branch's name
    assert {k: result[k] for k in REPORT} == REPORT
    assert result["outputs"] == [] and result["branch"] == f"run_{state['run_id']}"
    # and the quality gate reads the rows from the branch
    state["clean"] = result
    assert Lake.invoke("quality", state)["rows"] == 380


def test_the_quality_gate_leaves_rows_published_elsewhere_out_of_the_branch(served_lake: Lake):
    from tests.functional.conftest import model_stages, through_refine

    lake = served_lake
    # GIVEN a season published from one key, then the same matches plus one more under
    # another key, anonymised by the Glue job (its rows on the run's branch)
    Lake.invoke("publish", model_stages(through_refine(lake, "matches/2006-07.csv", SEASON)))
    more = SEASON.rstrip(b"\n") + b"\nSun Jun 3 2007,Nantes,9-0,5-0,Lyon\n"
    state = _as_spark_wrote_it(lake, lake.drop("matches/late-2006-07.csv", more))
    put_json(_report(state), lake.settings.clean_bucket, f"{staging_prefix(state['run_id'])}report.json")
    state["clean"] = Lake.invoke("clean_report", state)
    # WHEN the quality gate applies the natural key (on_conflict = skip)
    result = Lake.invoke("quality", state)
    # THEN the 380 repeated rows are left out of the branch, the new match stays, and
    # main still holds the first key's rows only
    assert result["duplicates"]["rows_skipped"] == 380 and result["rows"] == 1
    kept = branch_rows(load_table(lake.settings, CLEAN, "matches"), state["run_id"])
    assert kept is not None and kept["home_team"].to_pylist() == ["Nantes"]
    assert kept["home_goals"].to_pylist() == [9]
    published = read_table(lake.settings, CLEAN, "matches")
    assert published.num_rows == 380 and 9 not in published["home_goals"].to_pylist()


def test_a_job_that_left_no_report_is_refused_naming_where_it_looked(served_lake: Lake):
    lake = served_lake
    state = _as_spark_wrote_it(lake, lake.drop("matches/2006-07.csv", SEASON))
    with pytest.raises(ValidationFailed) as raised:
        Lake.invoke("clean_report", state)
    assert f"s3://{lake.settings.clean_bucket}/{staging_prefix(state['run_id'])}" in \
        str(raised.value)
