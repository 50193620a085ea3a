"""A throw-away embedded AWS holding the lake's tables, for Spark jobs run outside a lake.

The Glue jobs write Iceberg through the Glue catalog, so even a benchmark or a test of
one job needs a catalog, buckets and tables: this starts moto as a server in a thread,
points the process's AWS settings at it (before local Spark starts, which reads them),
and creates the zone buckets, the two databases and every table of some contracts.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from lakeguard.aws import client
from lakeguard.contracts import load_contract
from lakeguard.local import gaps
from lakeguard.tables import Names, ensure_tables, run_tables

#: The scratch lake's names: one per process, so a second call finds its tables.
SCRATCH = Names(clean_database="scratch_clean", refined_database="scratch_refined",
                clean_bucket="scratch-clean", refined_bucket="scratch-refined")

_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EC2_METADATA_DISABLED",
             "AWS_SESSION_TOKEN", "AWS_PROFILE")


@contextmanager
def scratch_lake(*datasets: str) -> Iterator[Names]:
    """Serve an embedded AWS with the tables of ``datasets``; yield where they are.

    The process's AWS settings point at it until the block ends. Local Spark keeps the
    endpoint it started with: one scratch lake per process.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    saved = {name: os.environ.get(name) for name in _SETTINGS}

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    gaps.refuse_stale_glue_table_versions()  # concurrent commits race as they do in AWS
    os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                       "AWS_EC2_METADATA_DISABLED": "true"})
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        for bucket in (SCRATCH.clean_bucket, SCRATCH.refined_bucket):
            client("s3").create_bucket(Bucket=bucket)
        for database in (SCRATCH.clean_database, SCRATCH.refined_database):
            client("glue").create_database(DatabaseInput={"Name": database})
        ensure_tables(tuple(spec for name in datasets
                            for spec in run_tables(load_contract(name))), SCRATCH)
        yield SCRATCH
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
