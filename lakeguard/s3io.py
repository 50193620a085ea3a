"""Small, typed S3 helpers shared by the pipeline stages (objects, Parquet, JSON)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeguard.aws import client
from lakeguard.exceptions import LakeguardError
from lakeguard.layout import object_key, partition_path

if TYPE_CHECKING:
    import boto3

PARQUET_COMPRESSION = "zstd"


def split_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def read_bytes(
    bucket: str, key: str, version_id: str | None = None,
    session: boto3.session.Session | None = None,
) -> bytes:
    """Read a whole object (optionally one version)."""
    extra = {"VersionId": version_id} if version_id else {}
    body = client("s3", session).get_object(Bucket=bucket, Key=key, **extra)["Body"]
    data: bytes = body.read()
    return data


def upload_path(s3: Any, path: str | Path, bucket: str, key: str) -> None:
    """Upload a local file in one PUT, streamed from disk (the stages' files fit one PUT)."""
    with open(path, "rb") as body:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def download_path(s3: Any, bucket: str, key: str, target: str | Path) -> None:
    """Stream an object to a local file, a megabyte at a time."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with open(target, "wb") as out:
        shutil.copyfileobj(body, out, 1 << 20)


def list_keys(
    bucket: str, prefix: str, session: boto3.session.Session | None = None
) -> list[str]:
    """Every key under ``prefix``, sorted."""
    paginator = client("s3", session).get_paginator("list_objects_v2")
    keys = [
        obj["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    ]
    return sorted(keys)


class DeleteRefused(LakeguardError):
    """S3 kept some of the objects a batch delete named (see ``delete_keys``)."""


def delete_keys(
    bucket: str, keys: Iterable[str], session: boto3.session.Session | None = None
) -> int:
    """Delete keys in batches of 1,000; return how many were deleted.

    DeleteObjects answers 200 even when it deleted nothing: a key it refused (access
    denied, object lock) is only listed under ``Errors``. Such a key fails the call here,
    so that a stage never reports as removed what is still there.
    """
    s3 = client("s3", session)
    batch: list[str] = []
    count = 0
    for key in [*keys, None]:
        if key is not None:
            batch.append(key)
        if batch and (key is None or len(batch) == 1000):
            answer = s3.delete_objects(Bucket=bucket,
                                       Delete={"Objects": [{"Key": k} for k in batch]})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise DeleteRefused(f"s3://{bucket}: {len(answer['Errors'])} of {len(batch)} "
                                    f"objects not deleted, first {first['Key']!r}: "
                                    f"{first['Code']} ({first['Message']})")
            count += len(batch)
            batch = []
    return count


def table_to_parquet_bytes(table: pa.Table) -> bytes:
    """Serialise a table as zstd Parquet."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression=PARQUET_COMPRESSION)
    return sink.getvalue()


def write_parquet(
    table: pa.Table, bucket: str, key: str, session: boto3.session.Session | None = None
) -> str:
    """Write a table as one Parquet object; return its s3:// URI."""
    client("s3", session).put_object(Bucket=bucket, Key=key, Body=table_to_parquet_bytes(table))
    return f"s3://{bucket}/{key}"


def split_partitions(table: pa.Table, names: tuple[str, ...]) -> dict[tuple[str, ...], pa.Table]:
    """Split a table by the values of its partition columns (as strings, as in Hive folders)."""
    if not names:
        return {(): table}
    keys = pa.table({n: pc.cast(table[n], pa.string()) for n in names})
    out = {}
    for row in keys.group_by(list(names)).aggregate([]).to_pylist():
        mask = None
        for name in names:
            cond = pc.equal(keys[name], row[name])
            mask = cond if mask is None else pc.and_(mask, cond)
        out[tuple(str(row[n]) for n in names)] = table.filter(mask)
    return out


def write_partitions(
    table: pa.Table, bucket: str, prefix: str, partition_by: tuple[str, ...],
    session: boto3.session.Session | None = None,
) -> list[str]:
    """One Parquet object per partition under ``prefix/<name=value>/part-0.parquet``."""
    return [write_parquet(rows, bucket, object_key(prefix, partition_path(partition_by, values),
                                                    "part-0.parquet"), session)
            for values, rows in sorted(split_partitions(table, partition_by).items())
            if rows.num_rows]


def with_partition_columns(table: pa.Table, key: str) -> pa.Table:
    """Add the Hive partition values in ``key`` (``season=1996-97/``) missing from the file.

    Spark writes partition values into folder names only; readers of a single object
    would otherwise lose them.
    """
    for segment in key.split("/")[:-1]:
        name, sep, value = segment.partition("=")
        if sep and name not in table.column_names:
            table = table.append_column(name, pa.array([value] * table.num_rows, pa.string()))
    return table


def read_parquet(
    uris: Iterable[str], session: boto3.session.Session | None = None,
    schema: pa.Schema | None = None,
) -> pa.Table:
    """Read Parquet objects into one table (columns unified by name)."""
    tables = []
    for uri in uris:
        bucket, key = split_uri(uri)
        table = pq.read_table(io.BytesIO(read_bytes(bucket, key, session=session)))
        tables.append(with_partition_columns(table, key))
    if not tables:
        return schema.empty_table() if schema is not None else pa.table({})
    table = pa.concat_tables(tables, promote_options="default")
    return table.select(schema.names).cast(schema) if schema is not None else table


def put_json(
    document: Any, bucket: str, key: str, session: boto3.session.Session | None = None
) -> str:
    """Write a JSON document (sorted keys, so identical content gives identical bytes)."""
    body = json.dumps(document, sort_keys=True, indent=2, default=str).encode("utf-8")
    client("s3", session).put_object(
        Bucket=bucket, Key=key, Body=body, ContentType="application/json"
    )
    return f"s3://{bucket}/{key}"


def get_json(
    bucket: str, key: str, session: boto3.session.Session | None = None
) -> Any | None:
    """Read a JSON document, or ``None`` when the key does not exist."""
    s3 = client("s3", session)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


class HashingStream:
    """A read-only stream that hashes what it hands out.

    The input's sha256 is taken as the object is read once: the Lambda clean stage and the
    Glue preflight both record it, and neither reads the object twice to get it.
    """

    def __init__(self, body: Any) -> None:
        self.body, self.digest, self.closed = body, hashlib.sha256(), False

    def read(self, size: int = -1) -> bytes:
        """Hand out (and hash) the next ``size`` bytes."""
        chunk: bytes = self.body.read(size)
        self.digest.update(chunk)
        return chunk

    def readable(self) -> bool:
        """Always: the readers check before they read."""
        return True

    def close(self) -> None:
        """Close the body underneath."""
        self.closed = True
        self.body.close()

