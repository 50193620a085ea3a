"""Spark's own Iceberg support, as Glue 5 gives it, for the jobs' writes to the lake's tables.

Glue puts Iceberg's Spark runtime on the class path when a job has ``--datalake-formats
iceberg``; the job's ``--conf`` names the catalog (:func:`catalog_conf`): the Glue Data
Catalog through Iceberg's ``GlueCatalog``, files through its ``S3FileIO``, both with the
job role's credentials. The embedded lake resolves the same runtime, at the version Glue
5.0 ships, from Maven Central and adds only where its AWS is
(:mod:`lakeguard.local.glue_service`): the job code is the same in both places.

A job never commits to ``main``: it writes the run's rows on the run's branch
(:mod:`lakeguard.tables.branches`), and Publish commits them once every check has passed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from lakeguard.glue.errors import java_classes
from lakeguard.tables.branches import run_branch
from lakeguard.tables.spec import RUN_COLUMN, SOURCE_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: The Spark catalog name the jobs address the lake's tables through.
CATALOG = "glue_catalog"
#: Iceberg's version in Glue 5.0 (AWS Glue's "Using the Iceberg framework" table).
ICEBERG_VERSION = "1.7.1"
#: What ``--datalake-formats iceberg`` puts on Glue 5.0's class path, as Maven coordinates.
SPARK_PACKAGES = (f"org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:{ICEBERG_VERSION}",
                  f"org.apache.iceberg:iceberg-aws-bundle:{ICEBERG_VERSION}")
_CATALOG_KEY = f"spark.sql.catalog.{CATALOG}"
#: Attempts at a commit that keeps losing the commit race to other writers.
COMMIT_ATTEMPTS = 12
#: First pause between attempts, in seconds; it doubles (with jitter) up to the cap.
COMMIT_RETRY_WAIT, COMMIT_RETRY_CAP = 0.2, 5.0
#: What a commit that lost the race to another writer raises: refused at the catalog, or
#: refused by Iceberg's own checks (a snapshot built on a sequence number another commit
#: took meanwhile: Iceberg issue 15001). The run's branch has no other writer, so neither
#: is a conflict of the run's own rows.
_LOST_RACE = frozenset({"org.apache.iceberg.exceptions.CommitFailedException",
                        "org.apache.iceberg.exceptions.ValidationException"})


def catalog_conf(warehouse: str) -> dict[str, str]:
    """Spark settings that make ``glue_catalog`` the Glue Data Catalog's Iceberg tables.

    The catalog's table cache is off: a warm driver (the embedded lake keeps one per
    job) must see the commits Lambda stages made since its last run.
    """
    return {
        "spark.sql.extensions":
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        _CATALOG_KEY: "org.apache.iceberg.spark.SparkCatalog",
        f"{_CATALOG_KEY}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
        f"{_CATALOG_KEY}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{_CATALOG_KEY}.warehouse": warehouse,
        f"{_CATALOG_KEY}.cache-enabled": "false",
    }


def conf_argument(conf: dict[str, str]) -> str:
    """The value of Glue's ``--conf`` job argument for several settings (Glue takes one)."""
    return " --conf ".join(f"{key}={value}" for key, value in conf.items())


def parse_conf_argument(value: str) -> dict[str, str]:
    """The settings a ``--conf`` job argument holds, read as Glue reads it."""
    settings = {}
    for pair in value.split(" --conf "):
        key, sep, setting = pair.strip().partition("=")
        if sep:
            settings[key] = setting
    return settings


def local_endpoint_conf(conf: dict[str, str], endpoint: str, region: str) -> dict[str, str]:
    """Point every Iceberg catalog of ``conf`` at an embedded AWS (path-style S3)."""
    catalogs = [key for key, value in conf.items() if key.count(".") == 3
                and key.startswith("spark.sql.catalog.") and value.endswith("SparkCatalog")]
    return {f"{catalog}.{name}": value for catalog in catalogs for name, value in (
        ("glue.endpoint", endpoint), ("s3.endpoint", endpoint),
        ("s3.path-style-access", "true"), ("client.region", region))}


def table_name(database: str, table: str) -> str:
    """A table's name in Spark SQL, through the lake's catalog."""
    return f"{CATALOG}.`{database}`.`{table}`"


def write_run_branch(spark: SparkSession, rows: DataFrame, database: str, table: str,
                     run_id: str) -> None:
    """Write the run's rows on its branch of one table, in the table's schema.

    A retried run starts its branch again from ``main`` (a job that failed half-way left
    rows there). Columns are matched by name and cast to the table's types; a table column
    the rows lack is null, as in a Publish commit. The source key column is left to
    Publish, which stamps the lineage of every row it commits.
    """
    from pyspark.sql import functions as F

    name = table_name(database, table)
    branch = run_branch(run_id)
    for statement in (f"ALTER TABLE {name} DROP BRANCH IF EXISTS `{branch}`",
                      f"ALTER TABLE {name} CREATE BRANCH `{branch}`"):
        retry_lost_commit_race(partial(spark.sql, statement))
    present = set(rows.columns)
    stamped = rows.withColumn(RUN_COLUMN, F.lit(run_id))
    aligned = stamped.select([
        (F.col(f"`{field.name}`") if field.name in present | {RUN_COLUMN} else F.lit(None))
        .cast(field.dataType).alias(field.name) for field in spark.table(name).schema.fields])
    retry_lost_commit_race(aligned.writeTo(f"{name}.`branch_{branch}`").append)


def retry_lost_commit_race(commit: Callable[[], object]) -> None:
    """Run a Spark statement that commits to a table, again while it loses the commit race.

    Busy tables are the norm: every Publish, quality rewrite and compaction commits to the
    tables the jobs branch from. Iceberg's own retry cannot win a branch statement's race:
    ``ManageSnapshots`` re-commits against the metadata it started from, which the other
    writer made stale, so every retry is refused too ("Table metadata refresh is
    required"). An append retries well but gives up after ``commit.retry.num-retries``.
    Each attempt here loads the table afresh (the catalog caches nothing); a lost attempt
    left nothing behind, so running it again is safe.
    """
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            commit()
            return
        except Exception as err:
            if attempt == COMMIT_ATTEMPTS - 1 or not _LOST_RACE & set(java_classes(err)):
                raise
            pause = min(COMMIT_RETRY_WAIT * 2 ** attempt, COMMIT_RETRY_CAP)
            time.sleep(pause * random.uniform(0.5, 1.5))


def read_run_branch(spark: SparkSession, database: str, table: str, run_id: str) -> DataFrame:
    """The rows a run wrote on its branch of one table, without the lineage columns."""
    from pyspark.sql import functions as F

    rows = (spark.read.option("branch", run_branch(run_id)).table(table_name(database, table))
            .filter(F.col(RUN_COLUMN) == run_id))
    return rows.drop(SOURCE_COLUMN, RUN_COLUMN)
