"""Tearing down dev: versioned buckets emptied to the last version and delete marker."""

from lakeguard.aws import client
from lakeguard.teardown import empty_bucket, empty_lake


def _versioned(name):
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3


def test_a_versioned_bucket_is_emptied_past_1000_versions_and_delete_markers(aws):
    # GIVEN 520 keys written twice and then deleted: 1,040 versions and 520 delete markers
    s3 = _versioned("lakeguard-dev-raw-1-us-east-1")
    for index in range(520):
        for body in (b"a", b"b"):
            s3.put_object(Bucket="lakeguard-dev-raw-1-us-east-1", Key=f"k/{index}", Body=body)
        s3.delete_object(Bucket="lakeguard-dev-raw-1-us-east-1", Key=f"k/{index}")
    # WHEN it is emptied
    removed = empty_bucket("lakeguard-dev-raw-1-us-east-1")
    # THEN nothing is left, and the bucket can be deleted
    assert removed == 1560
    listing = s3.list_object_versions(Bucket="lakeguard-dev-raw-1-us-east-1")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
    s3.delete_bucket(Bucket="lakeguard-dev-raw-1-us-east-1")


def test_the_lake_is_emptied_bucket_by_bucket_with_access_logging_stopped(aws):
    s3 = _versioned("lakeguard-dev-clean-1-us-east-1")
    _versioned("lakeguard-dev-access-logs-1-us-east-1")
    s3.put_bucket_acl(Bucket="lakeguard-dev-access-logs-1-us-east-1", ACL="log-delivery-write")
    _versioned("other-team-bucket")
    s3.put_bucket_logging(Bucket="lakeguard-dev-clean-1-us-east-1", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "lakeguard-dev-access-logs-1-us-east-1",
                           "TargetPrefix": "clean/"}})
    for bucket in ("lakeguard-dev-clean-1-us-east-1", "lakeguard-dev-access-logs-1-us-east-1",
                   "other-team-bucket"):
        s3.put_object(Bucket=bucket, Key="x", Body=b"x")
    lines = []
    removed = empty_lake("lakeguard-dev", progress=lines.append)
    # moto delivers access logs of the clean bucket's requests, as S3 does: more to remove
    assert removed["lakeguard-dev-clean-1-us-east-1"] == 1
    assert removed["lakeguard-dev-access-logs-1-us-east-1"] > 1
    assert list(removed)[-1].startswith("lakeguard-dev-access-logs-")  # emptied last
    for bucket in removed:
        assert not s3.list_object_versions(Bucket=bucket).get("Versions"), bucket
    assert not s3.get_bucket_logging(Bucket="lakeguard-dev-clean-1-us-east-1").get("LoggingEnabled")
    assert s3.list_objects_v2(Bucket="other-team-bucket")["KeyCount"] == 1
    assert any("stopped access logging" in line for line in lines)
