"""End to end on the embedded AWS: raw files travel S3 -> EventBridge -> SQS -> ingest ->
the deployed state machine -> Glue (local Spark) -> refined tables and anomalies."""

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakeguard.aws import client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"


def _table(bucket, prefix):
    s3 = client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
              for k in keys if k.endswith(".parquet")]
    return keys, tables


@pytest.fixture(scope="module")
def runs(lake, tmp_path_factory):
    # GIVEN two real seasons and a corrupt copy of one (a score written "3 -1")
    corrupt = tmp_path_factory.mktemp("bad") / "1997-98_corrupt.csv"
    text = (SEASONS / "1997-98_fr.1.csv").read_text()
    corrupt.write_text(text.replace(",1-0,", ",3 -1,", 1))
    # WHEN they are dropped into the raw bucket one after the other
    return {p.name: lake.drop(p, "matches/")
            for p in [SEASONS / "1995-96_fr.1.csv", corrupt, SEASONS / "1996-97_fr.1.csv"]}


def test_good_files_publish_and_corrupt_one_is_quarantined(runs):
    assert runs["1995-96_fr.1.csv"].status == "SUCCEEDED"
    assert runs["1996-97_fr.1.csv"].status == "SUCCEEDED"
    assert runs["1996-97_fr.1.csv"].rows_in == 380 == runs["1996-97_fr.1.csv"].rows_out
    bad = runs["1997-98_corrupt.csv"]
    assert bad.status == "FAILED" and bad.outcome == "quarantined"
    assert bad.reason.startswith("ValidationFailed") and "FT" in bad.reason


def test_quarantine_holds_the_object_and_a_machine_readable_report(lake, runs):
    bad = runs["1997-98_corrupt.csv"]
    report = lake.quarantine_report(bad.run_id)
    assert report["reason"]["error"] == "ValidationFailed"
    assert report["failed_stage"] == "clean"
    assert report["source"]["key"] == "matches/1997-98_corrupt.csv"
    keys, _ = _table(lake.bucket("quarantine"), f"matches/{bad.run_id}/")
    assert f"matches/{bad.run_id}/1997-98_corrupt.csv" in keys
    # and nothing of the corrupt file reached clean or refined
    for zone in ("clean", "refined"):
        keys, tables = _table(lake.bucket(zone), "")
        assert not any("1997-98" in k or "_staging" in k for k in keys)
        assert all("1997-98" not in t.column("season").to_pylist() for t in tables
                   if "season" in t.column_names)


def test_refined_team_matches_is_an_iceberg_table_partitioned_by_season(lake, runs):
    # (other test modules share the lake: their seasons are from 2000 on)
    rows = lake.rows("refined", "team_matches")
    seasons = [s for s in rows["season"].to_pylist() if s.startswith("19")]
    assert sorted(set(seasons)) == ["1995-96", "1996-97"] and len(seasons) == 2 * (380 + 380)
    table = client("glue").get_table(DatabaseName=lake.outputs["GlueDatabaseName"],
                                     Name="team_matches")["Table"]
    assert table["Parameters"]["table_type"] == "ICEBERG"  # what Athena v3 reads as Iceberg
    keys, _ = _table(lake.bucket("refined"), "team_matches/data/season=1996-97/")
    assert keys  # Iceberg's own partition folders: no partition is ever registered


def test_marseille_8_0_defeat_at_lyon_is_an_anomaly(lake, runs):
    rows = [r for r in lake.rows("refined", "anomalies").to_pylist()
            if r["entity"] == "Marseille" and r["season"] == "1996-97" and r["dataset"] == "matches"]
    assert len(rows) == 38  # every Marseille match of the season is scored
    defeat = next(r for r in rows if str(r["ts"]) == "1997-05-24")
    assert defeat["value"] == -8 and defeat["is_anomaly"] and defeat["score"] > 1.0
    assert defeat["lower"] > -8 and defeat["model_version"]
    share = sum(not r["is_anomaly"] for r in rows) / len(rows)
    assert share >= 0.85  # the normal band holds most matches


def test_duplicate_event_is_a_no_op(lake, runs):
    from lakeguard.pipeline.ingest import ingest_sqs_batch

    ok = runs["1996-97_fr.1.csv"]
    version = client("s3").head_object(Bucket=lake.bucket("raw"), Key=ok.key)["VersionId"]
    event = {"detail": {"bucket": {"name": lake.bucket("raw")},
                        "object": {"key": ok.key, "size": 1, "version-id": version}}}
    record = {"messageId": "m1", "body": json.dumps(event)}
    result = ingest_sqs_batch({"Records": [record]}, lake.outputs["StateMachineArn"],
                              lake.outputs["LedgerTableName"])
    assert result == {"batchItemFailures": []}
    executions = client("stepfunctions").list_executions(
        stateMachineArn=lake.outputs["StateMachineArn"])["executions"]
    assert sum(e["name"] == ok.run_id for e in executions) == 1
