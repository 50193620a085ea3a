"""One local Spark session per process, shared by every Glue job run and test."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from lakeguard.cachelock import held
from lakeguard.glue.iceberg import SPARK_PACKAGES, catalog_conf, local_endpoint_conf
from lakeguard.local.runtimes import CACHE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Where Spark's Ivy keeps the Iceberg runtime it resolves from Maven Central.
IVY_CACHE = CACHE.parent / "ivy"


@cache
def local_spark() -> SparkSession:
    """Start (once) a small local Spark shaped like a Glue worker: 2 cores, no UI.

    With Glue 5.0's Iceberg runtime and the lake's catalog (:mod:`lakeguard.glue.iceberg`),
    pointed at the embedded AWS of ``AWS_ENDPOINT_URL`` when the process has one: start
    the embedded AWS first (:func:`lakeguard.local.scratch.scratch_lake`). Python workers
    must run this interpreter, or they would not see lakeguard's packages.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # offline: no address lookups
    log_config = Path(__file__).with_name("log4j2.properties")
    from pyspark.sql import SparkSession

    catalog = catalog_conf("s3://lakeguard-local-warehouse/")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        catalog |= local_endpoint_conf(catalog, endpoint,
                                       os.environ.get("AWS_REGION", "us-east-1"))
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("lakeguard-local-glue")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        # Explicit, not only PYSPARK_PYTHON: in-process Lambda handlers swap os.environ
        # while Spark may be starting a worker on another thread.
        .config("spark.pyspark.python", sys.executable)
        .config("spark.driver.memory", "2g")
        # Iceberg's vectorized (Arrow) Parquet reader crashed this JDK (OpenJDK 17.0.15,
        # Debian) with a SIGSEGV in the JIT's metadata, 3 runs out of 3, once a refine read
        # 200,000 clean rows from the branch (bench/end_to_end.py); the row reader gives the
        # same rows. Glue's own JVM keeps Iceberg's default.
        .config("spark.sql.iceberg.vectorization.enabled", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile=file:{log_config}")
        .config("spark.jars.packages", ",".join(SPARK_PACKAGES))
        .config("spark.jars.ivy", str(IVY_CACHE))
    )
    for key, value in catalog.items():
        builder = builder.config(key, value)
    with held(IVY_CACHE):  # the Ivy cache is shared with this checkout's other processes
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
