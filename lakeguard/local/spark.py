"""One local Spark session per process, shared by every Glue job run and test."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@cache
def local_spark() -> SparkSession:
    """Start (once) a small local Spark shaped like a Glue worker: 2 cores, no UI.

    Python workers must run this interpreter, or they would not see lakeguard's packages.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # offline: no address lookups
    log_config = Path(__file__).with_name("log4j2.properties")
    from pyspark.sql import SparkSession

    spark = (
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
        .config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile=file:{log_config}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
