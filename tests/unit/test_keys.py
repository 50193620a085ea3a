"""Keys as producers write them: processed or refused with a reason, never written outside.

A key holding '..' made the export write outside its folder; keys with '+', '%', spaces
and non-ASCII letters are ordinary and must travel unchanged.
"""

import json

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lakeguard.pipeline.ingest import object_from_event
from lakeguard.pipeline.keys import UNSAFE_FOLDER, export_path, key_problem, safe_name

ORDINARY = ["matches/2006-07 fr.1.csv", "matches/a+b.csv", "matches/100%.csv",
            "matches/Saison été 2023.csv", "matches/リーグ.csv", "matches/a%2Fb.csv",
            "matches/sub/folder/x.csv", "matches/.hidden.csv", "matches/x..csv"]


@pytest.mark.parametrize("key", ORDINARY)
def test_ordinary_keys_are_processed_as_written(key, tmp_path):
    assert key_problem(key) is None
    assert export_path(tmp_path, key) == tmp_path.joinpath(*key.split("/"))


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("matches/../escape.csv", "'..' segment"),
        ("matches/./x.csv", "'.' or '..' segment"),
        ("..", "'..' segment"),
        ("matches//x.csv", "empty segment"),
        ("/matches/x.csv", "starts with '/'"),
        ("matches/", "folder marker"),
        ("matches/a\nb.csv", "control character"),
        ("matches/a\x00b.csv", "control character"),
        ("matches/" + "x" * 256 + ".csv", "longer than 255 bytes"),
    ],
)
def test_keys_that_cannot_be_paths_are_refused_with_a_reason(key, words, tmp_path):
    assert words in key_problem(key)
    target = export_path(tmp_path, key)
    assert target.parent == tmp_path / UNSAFE_FOLDER
    assert safe_name(key) in ("object", key.rsplit("/", 1)[-1])
    assert ".." not in safe_name(key).split("/")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab./%+ é\\\x00-_~")), max_size=12),
                min_size=2, max_size=5, unique=True))
def test_export_paths_stay_inside_the_root_and_never_collide(tmp_path_factory, keys):
    root = tmp_path_factory.getbasetemp() / "export"
    paths = [export_path(root, k) for k in keys]
    for path in paths:
        assert path.resolve().is_relative_to(root.resolve())
    assert len(set(paths)) == len(paths)


@pytest.fixture
def lake_buckets(monkeypatch):
    """The zones of a lake and its ledger, in moto: enough for LocalLake.export."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        outputs = {}
        for zone in ("raw", "clean", "refined", "quarantine", "artefacts"):
            s3.create_bucket(Bucket=zone, CreateBucketConfiguration={
                "LocationConstraint": "eu-west-1"})
            outputs[f"{zone.capitalize()}BucketName"] = zone
        boto3.client("dynamodb", region_name="eu-west-1").create_table(
            TableName="ledger", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "object", "KeyType": "HASH"},
                       {"AttributeName": "version_id", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "object", "AttributeType": "S"},
                                  {"AttributeName": "version_id", "AttributeType": "S"}])
        outputs["LedgerTableName"] = "ledger"
        outputs.update(GlueDatabaseName="refined_db", CleanDatabaseName="clean_db")
        yield s3, outputs


def test_export_never_writes_outside_its_folder_and_loses_no_object(lake_buckets, tmp_path,
                                                                    monkeypatch):
    from lakeguard.local import runtime
    from lakeguard.local.runtime import LocalLake

    # the tables' metadata (catalog.json) is tests/e2e's concern; this test is about objects
    monkeypatch.setattr(runtime, "describe_catalog", lambda names: {"tables": {}})

    s3, outputs = lake_buckets
    # GIVEN raw objects under a '..' key, a folder marker and ordinary keys
    keys = ["matches/../../escaped.csv", "matches/", *ORDINARY]
    for key in keys:
        s3.put_object(Bucket="raw", Key=key, Body=key.encode())
    lake = LocalLake()
    lake.outputs = outputs
    # WHEN the lake is exported
    out = tmp_path / "deep" / "export"
    lake.export(out)
    # THEN nothing was written beside the export, and every object is in it
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["export"]
    files = [p for p in out.rglob("*") if p.is_file() and p.parent.name != "export"]
    assert sorted(p.read_bytes().decode() for p in files) == sorted(keys)
    listed = json.loads((out / "unsafe_keys.json").read_text())
    assert {e["key"] for e in listed} == {"matches/../../escaped.csv", "matches/"}
    assert all((out / e["file"]).read_bytes() == e["key"].encode() for e in listed)


@pytest.mark.parametrize("key", ["matches/a+b.csv", "matches/100%25 done.csv"])
def test_ingest_keeps_event_keys_as_written(key):
    event = {"detail": {"bucket": {"name": "raw"}, "object": {"key": key, "size": 1}}}
    assert object_from_event(event).key == key
