"""Refine on Spark: the run's clean rows -> the run's branch of each refined Iceberg table.

Every transform of :mod:`lakeguard.transforms.refine` has a Spark twin written in Spark
SQL (the aggregates, and ``team_perspective`` as two projections of each match), so the
rows never cross into Python; ``tests/spark/test_refine_spark.py`` holds every twin to
the Arrow path's rows, and fails when a transform is added without one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, RefinedTable
from lakeguard.glue.args import JobArgumentError
from lakeguard.glue.iceberg import read_run_branch, write_run_branch
from lakeguard.transforms.refine import SEGMENT_SEPARATOR, transform_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def aggregate_dataframe(clean: DataFrame, table: RefinedTable) -> DataFrame:
    """Spark twin of the Arrow aggregates ``monthly_counts`` and ``category_counts``."""
    from pyspark.sql import functions as F

    options = table.options
    time = options.get("time")
    keys, measure = list(options["keys"]), options["measure"]
    count_as = options.get("count_as", "absences")
    people = [F.countDistinct(options["people"]).alias("__people")] if "people" in options else []
    grouped = clean.groupBy(*keys, *([time] if time else [])).agg(
        F.count(F.lit(1)).alias(count_as),
        F.round(F.sum(measure).cast("double"), 2).alias(measure), *people)
    judged = "__people" if "people" in options else count_as
    grouped = grouped.filter(F.col(judged) >= int(options["min_count"]))
    columns = [F.col(k).cast("string").alias(k) for k in keys]
    if "segment" in options:
        columns.append(F.concat_ws(SEGMENT_SEPARATOR, *(F.col(k).cast("string") for k in keys))
                       .alias(options["segment"]))
    if time:
        columns += [F.col(time), F.col(count_as), F.col(measure),
                    F.year(time).cast("string").alias("year")]
    else:
        columns += [F.col(count_as), F.col(measure)]
    return grouped.select(*columns)


def team_perspective_dataframe(clean: DataFrame, table: RefinedTable) -> DataFrame:
    """Spark twin of the Arrow transform ``team_perspective``: each match from either side."""
    from pyspark.sql import functions as F

    options = table.options

    def side(team: str, opponent: str, label: str, goals_for: str, goals_against: str
             ) -> DataFrame:
        return clean.select(
            F.col("date"), F.col(team).alias("team"), F.col(opponent).alias("opponent"),
            F.lit(label).alias("home_away"), F.col(goals_for).cast("long").alias("goals_for"),
            F.col(goals_against).cast("long").alias("goals_against"),
            (F.col(goals_for) - F.col(goals_against)).cast("long").alias("num_goals_net"),
            F.col("season"))

    return side(options["home"], options["away"], "home", options["home_goals"],
                options["away_goals"]).unionByName(
        side(options["away"], options["home"], "away", options["away_goals"],
             options["home_goals"]))


#: The Spark twin of each row-wise transform (the aggregates': :func:`aggregate_dataframe`).
ROW_TWINS: dict[str, Callable[[DataFrame, RefinedTable], DataFrame]] = {
    "team_perspective": team_perspective_dataframe}


def refine_dataframe(clean: DataFrame, table: RefinedTable, contract: Contract) -> DataFrame:
    """Apply one refined table's transform to a clean DataFrame, in Spark SQL."""
    if transform_for(table, contract).table is not None:
        return aggregate_dataframe(clean, table)
    return ROW_TWINS[table.transform](clean, table)


def run(spark: SparkSession, dataset: str, inputs: list[str], database: str, run_id: str,
        clean_database: str | None = None) -> list[str]:
    """Refine the run's clean rows onto the run's branch of each refined table.

    The clean rows are ``inputs`` (the Lambda path's staged Parquet) or, when there are
    none, the run's branch of the clean table in ``clean_database`` (the anonymise job's).
    Returns the tables written. Nothing reaches ``main``: Publish commits the branches.
    """
    contract = load_contract(dataset)
    if inputs:
        clean = spark.read.parquet(*inputs)
    elif clean_database:
        clean = read_run_branch(spark, clean_database, contract.name, run_id)
    else:
        raise JobArgumentError("the clean rows are neither in --inputs nor on a branch of "
                               "--clean_database's clean table")
    written = []
    for table in contract.refined:
        write_run_branch(spark, refine_dataframe(clean, table, contract), database, table.table,
                         run_id)
        written.append(table.table)
    return written
