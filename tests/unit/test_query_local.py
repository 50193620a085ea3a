import json

import boto3
import pytest
from moto import mock_aws

from lakeguard.exceptions import QueryError
from lakeguard.query import format_result, query_athena, query_local, to_physical
from tests.athena import athena_answers


def test_group_by_season_over_partition_columns(lake):
    table = query_local(lake, "SELECT season, count(*) AS n FROM refined.anomalies "
                              "WHERE entity = 'Marseille' GROUP BY season ORDER BY season")
    assert table.to_pylist() == [{"season": "1996-97", "n": 2}, {"season": "1997-98", "n": 1}]


def test_athena_functions_are_translated(lake):
    table = query_local(lake, "SELECT date_format(date, '%Y-%m') AS month, "
                              "approx_distinct(opponent) AS opponents FROM refined.team_matches "
                              "GROUP BY 1 ORDER BY 1")
    assert table.column("month").to_pylist() == ["1996-08", "1997-05", "1997-08"]


def test_unknown_table_and_missing_zone_say_what_to_do(lake, tmp_path_factory):
    with pytest.raises(QueryError, match="known: anomalies, team_matches"):
        query_local(lake, "SELECT * FROM refined.nope")
    with pytest.raises(QueryError, match="lakeguard demo"):
        query_local(tmp_path_factory.mktemp("empty"), "SELECT 1")


def test_formats(lake):
    table = query_local(lake, "SELECT team, date, num_goals_net FROM refined.team_matches "
                              "WHERE num_goals_net < -5")
    assert json.loads(format_result(table, "json")) == [
        {"team": "Marseille", "date": "1997-05-24", "num_goals_net": -8}]
    assert format_result(table, "csv").splitlines() == ["team,date,num_goals_net",
                                                        "Marseille,1997-05-24,-8"]
    text = format_result(table, "table").splitlines()
    assert text[0].split() == ["team", "date", "num_goals_net"] and text[-1] == "(1 row)"


def test_logical_database_becomes_the_physical_one():
    sql = to_physical("SELECT * FROM refined.anomalies a JOIN refined.team_matches m ON true",
                      "lakeguard_dev_refined")
    assert "lakeguard_dev_refined.anomalies" in sql and "refined.team" not in sql.replace(
        "lakeguard_dev_refined.team", "")


def test_query_athena_runs_in_the_workgroup_and_returns_typed_columns(monkeypatch):
    import datetime as dt
    from decimal import Decimal

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3", region_name="eu-west-1").create_bucket(
            Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        athena = boto3.client("athena", region_name="eu-west-1")
        athena.create_work_group(Name="analysts", Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://results/"},
            "EnforceWorkGroupConfiguration": True})
        athena_answers("eu-west-1", [("season", "varchar"), ("goals", "bigint"),
                                     ("ts", "timestamp"), ("score", "decimal"),
                                     ("day", "date"), ("is_anomaly", "boolean")],
                       [["1996-97", "8", "1997-05-24 18:00:00.000", "3.25", "1997-05-24",
                         "true"]])
        table = query_athena("SELECT * FROM refined.anomalies", workgroup="analysts",
                             database="lakeguard_dev_refined")
        (execution,) = athena.list_query_executions(WorkGroup="analysts")["QueryExecutionIds"]
        details = athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]
    assert "lakeguard_dev_refined.anomalies" in details["Query"]
    assert details["QueryExecutionContext"]["Database"] == "lakeguard_dev_refined"
    (row,) = table.to_pylist()  # typed as Athena reports them, not strings
    assert row["goals"] == 8 and row["is_anomaly"] is True
    assert row["ts"] == dt.datetime(1997, 5, 24, 18, 0)
    assert row["day"] == dt.date(1997, 5, 24)
    assert row["score"] == Decimal("3.25") and isinstance(row["score"], Decimal)
    assert table.schema.metadata[b"lakeguard.bytes_scanned"] == b"0"


