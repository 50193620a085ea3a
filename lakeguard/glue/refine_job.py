"""Refine on Spark: the run's clean rows -> the run's branch of each refined Iceberg table.

Row-wise transforms run through ``mapInArrow`` with the very functions the Arrow path
uses (:mod:`lakeguard.transforms.refine`), so both engines produce the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, RefinedTable
from lakeguard.glue.args import JobArgumentError
from lakeguard.glue.iceberg import read_run_branch, write_run_branch
from lakeguard.transforms.refine import (
    SEGMENT_SEPARATOR,
    output_schema,
    refine_batch,
    transform_for,
)

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


def refine_dataframe(clean: DataFrame, table: RefinedTable, contract: Contract) -> DataFrame:
    """Apply one refined table's transform to a clean DataFrame."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if transform_for(table, contract).table is not None:
        return aggregate_dataframe(clean, table)
    schema = output_schema(table, contract)

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield refine_batch(batch, table, contract)

    return clean.mapInArrow(apply, from_arrow_schema(schema))


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
