"""Refine on Spark: clean Parquet -> each refined table of the contract, partitioned.

Row-wise transforms run through ``mapInArrow`` with the very functions the Arrow path
uses (:mod:`lakeguard.transforms.refine`), so both engines produce the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, RefinedTable
from lakeguard.transforms.refine import refine_batch, transform_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def refine_dataframe(clean: DataFrame, table: RefinedTable, contract: Contract) -> DataFrame:
    """Apply one refined table's transform to a clean DataFrame."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = transform_for(table, contract).schema

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield refine_batch(batch, table, contract)

    return clean.mapInArrow(apply, from_arrow_schema(schema))


def run(spark: SparkSession, dataset: str, inputs: list[str], output_uri: str) -> list[str]:
    """Refine ``inputs`` (clean Parquet paths) into ``output_uri/<table>/``; return the tables."""
    contract = load_contract(dataset)
    clean = spark.read.parquet(*inputs)
    written = []
    for table in contract.refined:
        refined = refine_dataframe(clean, table, contract)
        (refined.write.mode("overwrite").partitionBy(*table.partition_by)
         .option("compression", "zstd").parquet(f"{output_uri.rstrip('/')}/{table.table}/"))
        written.append(table.table)
    return written
