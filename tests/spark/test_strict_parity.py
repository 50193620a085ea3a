"""The Glue (Spark) path gives the Lambda path's verdict on every hostile file.

Same outcome, same quarantine reason for a file refused as a whole, same counts and the
same rules on the same columns for rows rejected or warned about. And a Spark failure
comes back as one line, not as the Java stack trace a two-digit year once produced.
"""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeguard.exceptions import SparkJobFailed
from tests.corpus.hostile import QUARANTINED, everything
from tests.corpus.verdicts import lambda_verdict, spark_verdict

pytestmark = pytest.mark.spark
#: Key classes are decided by Validate before either engine runs.
CORPUS = [h for h in everything() if not h.case.startswith("key_")]


@pytest.mark.parametrize("hostile", CORPUS, ids=lambda h: f"{h.dataset}-{h.case}")
def test_spark_and_lambda_paths_give_the_same_verdict(spark, tmp_path, hostile):
    # GIVEN one hostile file, WHEN both engines anonymise it
    expected = lambda_verdict(hostile, quality=False)
    produced = spark_verdict(spark, hostile, tmp_path)
    # THEN they agree on the outcome, and on why
    assert produced.outcome == expected.outcome, produced.message
    if expected.outcome == QUARANTINED:
        assert produced.error == expected.error
        if expected.error != "ValidationFailed" or "rule " not in expected.message:
            assert produced.message == expected.message
        assert hostile.words in produced.message
        return
    assert produced.counts == expected.counts
    assert produced.rules == expected.rules


def test_a_key_with_glob_characters_is_read_literally(spark, tmp_path):
    # GIVEN a raw object named like a Hadoop glob, and the object that glob would match
    good = next(h for h in everything() if h.dataset == "matches" and h.case == "key_brackets")
    (tmp_path / "season1.csv").write_bytes(b"Date,Team 1,FT,HT,Team 2\n")
    # WHEN the Spark path reads it THEN it reads that very object
    assert spark_verdict(spark, good, tmp_path).counts["rows_in"] == 380


def test_a_spark_failure_is_one_line_naming_its_error_class(spark, scratch, tmp_path, capsys):
    from lakeguard.glue.errors import spark_errors
    from lakeguard.glue.refine_job import run

    # GIVEN clean data holding a date Spark refuses to read (year 97, before the Gregorian
    # calendar; the strict checks keep it out of clean, this writes it directly)
    table = pa.table({"date": pa.array([pa.scalar(-684_000, pa.date32()).as_py()]),
                      "home_team": ["Lyon"], "away_team": ["Nice"], "home_goals": [1],
                      "away_goals": [0], "home_goals_ht": [0], "away_goals_ht": [0],
                      "season": ["97-98"]})
    pq.write_table(table, tmp_path / "clean.parquet")
    # WHEN the refine job runs THEN it fails in one line naming Spark's error class
    with pytest.raises(SparkJobFailed) as caught, spark_errors("refine"):
        run(spark, "matches", [str(tmp_path / "clean.parquet")], scratch.refined_database,
            "ancient")
    message = str(caught.value)
    assert "READ_ANCIENT_DATETIME" in message and "\n" not in message and len(message) < 300
    assert "Lyon" not in message
    # AND the job's error log says where it failed (classes and frames), quoting no row
    log = capsys.readouterr().err
    assert "org.apache.spark.SparkUpgradeException" in log and "\n    at org.apache." in log
    assert "Lyon" not in log and "-0097" not in log
