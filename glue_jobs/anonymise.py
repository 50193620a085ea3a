"""Glue job: anonymise one large raw object onto the run's branch of its clean table.

Arguments (from the state machine's CleanLarge task): ``--dataset``, ``--input_uri`` (the raw
object), ``--run_id`` (the branch is ``run_<run_id>``), ``--output_uri`` (the run's staging
prefix in the clean bucket, for the report); from the job's defaults: ``--secret_id`` (the
pseudonymisation key's secret; the job's role is one of two that may read it) and
``--clean_database`` (the clean tables' Glue database).
"""

import sys

from pyspark.sql import SparkSession

from lakeguard.glue.anonymise_job import run
from lakeguard.glue.args import resolve_args
from lakeguard.glue.errors import spark_errors
from lakeguard.glue.job_io import write_json
from lakeguard.privacy.pseudonym import load_key


def main() -> None:
    """Parse the job arguments, anonymise, and leave the report for the clean_report stage."""
    args = resolve_args(sys.argv, ["dataset", "input_uri", "run_id", "output_uri", "secret_id",
                                   "clean_database"], task="CleanLarge")
    spark = SparkSession.builder.getOrCreate()
    hmac_key = load_key(args["secret_id"])
    with spark_errors("anonymise"):
        report = run(spark, args["dataset"], args["input_uri"], args["clean_database"],
                     args["run_id"], hmac_key)
    write_json(report.to_json(), f"{args['output_uri'].rstrip('/')}/report.json")


if __name__ == "__main__":
    main()
