"""What one stage hands the next within a run: staged Parquet, or a branch of the table.

The Lambda stages stage their rows as Parquet under the run's staging prefix of the zone
they are bound for (``_staging/<run id>/<table>/``); the Glue jobs write them on the run's
branch of the Iceberg table (:mod:`lakeguard.tables.branches`). The stages that read them
(Publish, the model stages) take the branch when there is one, else the staged objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakeguard.layout import staging_prefix
from lakeguard.s3io import list_keys, read_parquet
from lakeguard.tables.branches import branch_rows

if TYPE_CHECKING:
    import boto3
    import pyarrow as pa
    from pyiceberg.table import Table


def staged_prefix(run_id: str, table: str) -> str:
    """Where a run's staged rows of one table are: ``_staging/<run id>/<table>/``."""
    return f"{staging_prefix(run_id)}{table}/"


def handed_rows(table: Table, bucket: str, name: str, run_id: str,
                session: boto3.session.Session | None = None,
                columns: tuple[str, ...] | None = None) -> pa.Table:
    """The run's rows of one table: from its branch if a Glue job wrote one, else staged.

    Staged rows of a table nobody staged anything for come back with no columns.
    """
    handed = branch_rows(table, run_id, columns)
    if handed is not None:
        return handed
    keys = [k for k in list_keys(bucket, staged_prefix(run_id, name), session)
            if k.endswith(".parquet")]
    return read_parquet([f"s3://{bucket}/{k}" for k in keys], session)
