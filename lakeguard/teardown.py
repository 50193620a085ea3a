"""Empty an environment's versioned buckets, so ``cdk destroy`` can delete them.

CloudFormation deletes only empty buckets. A versioned bucket is empty only when every
object version and every delete marker is gone, and listings come 1,000 entries at a
time: deleting what one ``list-object-versions`` call returns leaves the rest, and the
delete markers it created, behind (``BucketNotEmpty``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lakeguard.aws import client

if TYPE_CHECKING:
    import boto3

#: DeleteObjects takes at most this many keys per call.
_BATCH = 1000


def _versions(s3: Any, bucket: str) -> Iterator[dict[str, str]]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield {"Key": entry["Key"], "VersionId": entry["VersionId"]}


def empty_bucket(bucket: str, session: boto3.session.Session | None = None) -> int:
    """Delete every version and delete marker of ``bucket``; return how many were removed.

    Versions are listed to the end before any is deleted, so the deletions never shift
    the pages being read; a bucket that keeps receiving objects (access logs) is emptied
    again until a pass finds nothing.
    """
    s3 = client("s3", session)
    removed = 0
    while True:
        entries = list(_versions(s3, bucket))
        if not entries:
            return removed
        for start in range(0, len(entries), _BATCH):
            batch = entries[start:start + _BATCH]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(f"s3://{bucket}: could not delete {first['Key']} "
                                   f"({first['Code']}: {first['Message']})")
            removed += len(batch)


def lake_buckets(name_prefix: str, session: boto3.session.Session | None = None) -> list[str]:
    """Buckets of one environment: every bucket named ``<name_prefix>-...``."""
    names = [b["Name"] for b in client("s3", session).list_buckets().get("Buckets", [])]
    return sorted(n for n in names if n.startswith(f"{name_prefix}-"))


def empty_lake(name_prefix: str, session: boto3.session.Session | None = None,
               progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Empty every bucket of the environment, the access-log bucket last.

    Access logging is switched off first: every deletion in a logged bucket would
    otherwise deliver a new log object into the access-log bucket after it was emptied.
    """
    s3 = client("s3", session)
    buckets = sorted(lake_buckets(name_prefix, session), key=lambda b: "-access-logs-" in b)
    for bucket in buckets:
        if s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled"):
            s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
            progress(f"stopped access logging of s3://{bucket}")
    removed = {}
    for bucket in buckets:
        removed[bucket] = empty_bucket(bucket, session)
        progress(f"emptied s3://{bucket}: {removed[bucket]} object versions and delete markers")
    return removed
