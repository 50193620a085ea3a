"""Glue job: refine one object's clean data onto the run's branch of each refined table.

Arguments (from the state machine's Refine task): ``--dataset``, ``--inputs`` (JSON list of
clean Parquet URIs; empty when the anonymise job left the rows on the clean table's
branch), ``--run_id`` (the branch is ``run_<run_id>``); from the job's defaults:
``--refined_database`` and ``--clean_database`` (the tables' Glue databases).
"""

import json
import sys

from pyspark.sql import SparkSession

from lakeguard.glue.args import resolve_args
from lakeguard.glue.errors import spark_errors
from lakeguard.glue.refine_job import run


def main() -> None:
    """Parse the job arguments and run the refine step."""
    args = resolve_args(sys.argv, ["dataset", "inputs", "run_id", "refined_database",
                                   "clean_database"], task="Refine")
    spark = SparkSession.builder.getOrCreate()
    with spark_errors("refine"):
        run(spark, args["dataset"], json.loads(args["inputs"]), args["refined_database"],
            args["run_id"], args["clean_database"])


if __name__ == "__main__":
    main()
