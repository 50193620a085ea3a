"""A Glue job's run branch is written though other writers keep committing to the table.

In the lake every Publish, quality rewrite and compaction commits to the tables the jobs
branch from, so a job's commit often loses the race for the table's metadata, more times
in a row than Iceberg's own retries allow (and a branch statement cannot win it by
Iceberg's retry at all). Here a rival commits right after each of Spark's reads of the
table, until it has beaten Spark more often than the table's retries allow.
"""

from collections.abc import Iterator

import pyarrow as pa
import pytest

from lakeguard.tables.branches import branch_rows, run_branches
from lakeguard.tables.catalog import glue_catalog
from lakeguard.tables.spec import RUN_COLUMN

pytestmark = pytest.mark.spark
TABLE = "branch_race"
#: The rival's commits: more than the two tries (one retry) the table allows one commit.
RIVAL_COMMITS = 8


@pytest.fixture
def busy_table(scratch) -> Iterator[list[str]]:
    """A table Iceberg retries a commit to once, and a rival committing ahead of Spark.

    Spark's AWS SDK names itself in its user agent; the rival is pyiceberg, as the Lambda
    stages are. Yields the rival's commits.
    """
    from moto.glue.responses import GlueResponse

    catalog, database = glue_catalog(), scratch.refined_database
    schema = pa.schema([("team", pa.string()), ("season", pa.string()), (RUN_COLUMN, pa.string())])
    catalog.create_table((database, TABLE), schema=schema,
                         location=f"s3://{scratch.refined_bucket}/{TABLE}",
                         properties={"format-version": "2", "commit.retry.num-retries": "1"})
    original, rivals = GlueResponse.get_table, []

    def get_table(self):
        answer = original(self)
        from_spark = "aws-sdk-java" in self.headers.get("User-Agent", "")
        if self.parameters.get("Name") == TABLE and from_spark and len(rivals) < RIVAL_COMMITS:
            with catalog.load_table((database, TABLE)).transaction() as tx:
                tx.set_properties({"test.rival": str(len(rivals))})
            rivals.append(TABLE)
        return answer

    GlueResponse.get_table = get_table
    try:
        yield rivals
    finally:
        GlueResponse.get_table = original
        catalog.drop_table((database, TABLE))


def test_a_run_branch_is_written_though_a_rival_wins_every_try_iceberg_makes(spark, scratch,
                                                                             busy_table):
    from lakeguard.glue.iceberg import write_run_branch

    database = scratch.refined_database
    rows = spark.createDataFrame([("Marseille", "2019-20")], ["team", "season"])
    # WHEN a run writes its branch while the rival keeps committing first
    write_run_branch(spark, rows, database, TABLE, "race-1")
    # THEN the branch holds the run's row, once
    assert len(busy_table) == RIVAL_COMMITS, "the rival never beat Spark"
    table = glue_catalog().load_table((database, TABLE))
    assert run_branches(table) == ["race-1"]
    produced = branch_rows(table, "race-1")
    assert produced is not None
    assert produced.select(["team", "season"]).to_pylist() == [
        {"team": "Marseille", "season": "2019-20"}]
