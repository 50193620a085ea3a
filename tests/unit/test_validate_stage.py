"""The Validate stage (moto, in process): header read like the data, keys checked first.

Valid CSV used to be refused because Validate split the header by hand: a byte-order mark
gave '\\ufeffDate', a quoted header '"Date"', CR-only line endings one huge line.
"""

import codecs
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lakeguard.config import Settings
from lakeguard.exceptions import ValidationFailed
from lakeguard.pipeline.ingest import object_from_event
from lakeguard.pipeline.validate import validate

SEASON = (Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"
          / "2006-07_fr.1.csv").read_bytes()
SETTINGS = Settings("raw", "clean", "refined", "quarantine", "artefacts", "db", "ledger",
                    "clean_db")


@pytest.fixture
def put(monkeypatch):
    """Put an object in a moto raw bucket; return the Validate stage's input for it."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="raw",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        boto3.client("dynamodb", region_name="eu-west-1").create_table(
            TableName="ledger", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "object", "KeyType": "HASH"},
                       {"AttributeName": "version_id", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "object", "AttributeType": "S"},
                                  {"AttributeName": "version_id", "AttributeType": "S"}])

        def put_object(key, body):
            s3.put_object(Bucket="raw", Key=key, Body=body)
            event = {"detail": {"bucket": {"name": "raw"},
                                "object": {"key": key, "size": len(body)}}}
            return object_from_event(event).to_state()

        yield put_object


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(codecs.BOM_UTF8 + SEASON, id="byte-order mark"),
        pytest.param(b'"Date","Team 1","FT","HT","Team 2"\n' + SEASON.split(b"\n", 1)[1],
                     id="quoted header"),
        pytest.param(SEASON.replace(b"\n", b"\r"), id="CR-only line endings"),
        pytest.param(SEASON * 300, id="larger than the header probe"),
    ],
)
def test_valid_headers_pass_validate(put, body):
    assert validate(put("matches/season.csv", body), SETTINGS).dataset == "matches"


def test_a_latin1_header_probe_names_line_and_encoding(put):
    body = SEASON.decode().replace("Lyon", "Nîmes", 1).encode("latin-1")
    with pytest.raises(ValidationFailed, match=r"line \d+, byte \d+ \(0xEE\).*cp1252"):
        validate(put("matches/season.csv", body), SETTINGS)


def test_a_key_with_a_dot_dot_segment_is_refused_before_anything_is_read(put):
    with pytest.raises(ValidationFailed, match=r"'\.\.' segment"):
        validate(put("matches/../absences/x.csv", SEASON), SETTINGS)


@pytest.mark.parametrize("key", ["matches/a+b c.csv", "matches/100%.csv", "matches/été.csv"])
def test_keys_with_plus_percent_space_or_accents_are_validated_as_written(put, key):
    state = put(key, SEASON)
    assert validate({**state, "key": key}, SETTINGS).dataset == "matches"
