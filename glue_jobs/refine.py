"""Glue job: refine one object's clean data into the refined tables (staged for Publish).

Arguments (from the state machine's Refine task): ``--dataset``, ``--inputs`` (JSON list of
clean Parquet URIs), ``--output_uri`` (the run's staging prefix in the refined bucket).
"""

import json
import sys

from pyspark.sql import SparkSession

from lakeguard.glue.args import resolve_args
from lakeguard.glue.errors import spark_errors
from lakeguard.glue.refine_job import run


def main() -> None:
    """Parse the job arguments and run the refine step."""
    args = resolve_args(sys.argv, ["dataset", "inputs", "output_uri"], task="Refine")
    spark = SparkSession.builder.getOrCreate()
    with spark_errors("refine"):
        run(spark, args["dataset"], json.loads(args["inputs"]), args["output_uri"])


if __name__ == "__main__":
    main()
