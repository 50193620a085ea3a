"""Iceberg's files on S3 in one request each while small (``lakeguard.tables.fileio``).

On the moto server, whose request log counts pyarrow's own S3 client too: pyarrow asked
each file's size (HEAD) before reading it and uploaded every file in three requests.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeguard.aws import client
from lakeguard.tables.catalog import catalog_properties
from lakeguard.tables.fileio import MEMO, LakeFileIO
from tests.functional.conftest import DATA, Lake, Request, model_stages, through_refine

THRESHOLD = 4096


@pytest.fixture
def bucket(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bucket of its own on the moto server, its endpoint in the environment."""
    from moto import settings as moto_settings

    for name, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    monkeypatch.setattr("lakeguard.config.ICEBERG_SINGLE_REQUEST_BYTES", THRESHOLD)
    name = f"lg-fileio-{uuid.uuid4().hex[:8]}"
    client("s3").create_bucket(Bucket=name)
    MEMO.clear()
    return name


def _write(location: str, data: bytes, chunk: int = 1000, overwrite: bool = True) -> None:
    with LakeFileIO(catalog_properties()).new_output(location).create(overwrite) as out:
        for start in range(0, len(data), chunk):
            out.write(data[start:start + chunk])


def _read(location: str) -> bytes:
    with LakeFileIO(catalog_properties()).new_input(location).open() as stream:
        data: bytes = stream.read()
    return data


def _methods(requests: list[Request]) -> list[str]:
    return [r.method for r in requests]


def test_a_small_file_is_written_in_one_put_and_read_in_one_get(
        bucket: str, server_requests: list[Request]):
    # GIVEN a data file below the threshold
    location, data = f"s3://{bucket}/t/data/part.parquet", b"x" * 3000
    # WHEN it is written, its size asked, and read back
    _write(location, data)
    written = list(server_requests)
    server_requests.clear()
    output = LakeFileIO(catalog_properties()).new_output(location)
    with output.create(overwrite=True) as out:
        out.write(data)
    assert len(output) == len(data)  # known from the write
    server_requests.clear()
    # THEN one PUT wrote it, one GET read it whole, and its bytes came back
    assert _methods(written) == ["PUT"]
    assert _read(location) == data
    assert _methods(server_requests) == ["GET"]


def test_a_large_file_goes_through_pyarrows_multipart_upload_and_reads(
        bucket: str, server_requests: list[Request]):
    # GIVEN a file above the threshold
    location, data = f"s3://{bucket}/t/data/big.parquet", bytes(range(256)) * 40
    # WHEN it is written and read back
    _write(location, data)
    # THEN pyarrow's multipart upload took it, and its ranged reads give it back
    assert "POST" in _methods(server_requests) and _read(location) == data


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 2 * THRESHOLD), chunk=st.integers(1, THRESHOLD + 10))
def test_any_file_reads_back_as_written_however_it_was_cut(bucket: str, size: int, chunk: int):
    # GIVEN bytes of any size around the threshold, written in pieces of any size
    data = bytes(i % 251 for i in range(size))
    location = f"s3://{bucket}/t/metadata/{uuid.uuid4().hex}.avro"
    _write(location, data, chunk)
    MEMO.clear()
    # THEN S3 holds exactly them, and the file IO reads exactly them back
    assert client("s3").get_object(Bucket=bucket, Key=location.split("/", 3)[3])["Body"] \
        .read() == data
    assert _read(location) == data


def test_a_file_that_must_not_exist_is_refused_by_s3_itself(bucket: str):
    # GIVEN a metadata file already written
    location = f"s3://{bucket}/t/metadata/00001-a.metadata.json"
    _write(location, b'{"a": 1}')
    # WHEN it is created again without overwrite THEN S3 refuses, and it is unchanged
    with pytest.raises(FileExistsError, match="already exists"):
        _write(location, b'{"a": 2}', overwrite=False)
    MEMO.clear()
    assert _read(location) == b'{"a": 1}'


def test_a_failed_write_leaves_no_file(bucket: str):
    # GIVEN a write that fails half-way
    location = f"s3://{bucket}/t/data/half.parquet"
    with pytest.raises(RuntimeError), \
            LakeFileIO(catalog_properties()).new_output(location).create(True) as out:
        out.write(b"half")
        raise RuntimeError("the writer failed")
    # THEN nothing was uploaded
    with pytest.raises(FileNotFoundError):
        _read(location)


def test_metadata_is_remembered_and_data_files_are_not(
        bucket: str, server_requests: list[Request]):
    # GIVEN a manifest and a data file written by this process, then deleted from S3
    manifest = f"s3://{bucket}/t/metadata/{uuid.uuid4().hex}-m0.avro"
    data_file = f"s3://{bucket}/t/data/{uuid.uuid4().hex}.parquet"
    _write(manifest, b"manifest")
    _write(data_file, b"rows")
    client("s3").delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": manifest.split("/", 3)[3]}, {"Key": data_file.split("/", 3)[3]}]})
    server_requests.clear()
    # THEN the manifest (written once, never changed) is read from memory, no request made
    assert _read(manifest) == b"manifest" and server_requests == []
    # and the data file is read from S3 every time: rows can be erased
    with pytest.raises(FileNotFoundError):
        _read(data_file)


def test_publishing_a_season_takes_a_bounded_number_of_requests(
        served_lake: Lake, server_requests: list[Request]):
    # GIVEN a season through its model stages
    season = sorted((DATA / "football" / "ligue1").glob("*_fr.1.csv"))[0]
    state = model_stages(through_refine(served_lake, f"matches/{season.name}",
                                        season.read_bytes()))
    server_requests.clear()
    # WHEN Publish commits it to its three tables
    Lake.invoke("publish", state)
    # THEN no file was uploaded in parts and none read after a HEAD, and the whole commit
    # took 39 requests (87 through pyarrow's S3: three per file written, HEAD then GET)
    assert not [r for r in server_requests if r.method == "HEAD" or "upload" in r.query]
    assert len(server_requests) <= 45, len(server_requests)

