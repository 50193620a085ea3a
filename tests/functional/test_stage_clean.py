"""Clean (the Lambda path) through its handler: typed, anonymised Parquet, staged per partition."""

import hashlib
import io
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pyarrow.parquet as pq
import pytest

from lakeguard.aws import client
from lakeguard.exceptions import ScratchSpaceFull, ValidationFailed
from lakeguard.s3io import split_uri
from lakeguard.samples.absences import generate
from tests.functional.conftest import SEASON, Lake


def _validated(lake: Lake, key: str, body: bytes) -> dict:
    state = lake.drop(key, body)
    return {**state, "validation": Lake.invoke("validate", state)}


def _read(uri: str):
    bucket, key = split_uri(uri)
    return pq.read_table(io.BytesIO(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_a_season_is_staged_as_one_partition_of_typed_rows(lake: Lake):
    # GIVEN a validated season
    state = _validated(lake, "matches/2006-07.csv", SEASON)
    # WHEN Clean runs
    result = Lake.invoke("clean", state)
    # THEN every match is kept, typed, under the run's staging prefix, partitioned by season
    assert (result["rows_in"], result["rows_out"], result["rows_rejected"]) == (380, 380, 0)
    assert result["input_sha256"] == hashlib.sha256(SEASON).hexdigest()
    assert result["partitions"] == ["season=2006-07"]
    (output,) = result["outputs"]
    assert output == (f"s3://{lake.settings.clean_bucket}/_staging/{state['run_id']}/"
                      "matches/season=2006-07/part-0.parquet")
    table = _read(output)
    assert table.num_rows == 380
    assert {"date", "home_team", "away_team", "home_goals", "away_goals"} <= set(table.column_names)
    assert str(table.schema.field("home_goals").type).startswith("int")
    # and nothing is published by Clean: only the staging prefix holds objects
    assert all(k.startswith("_staging/") for k in lake.keys("clean"))


def test_a_bad_score_refuses_the_file_naming_row_and_column_not_the_value(lake: Lake):
    # GIVEN a season where one full-time score is not a score (matches tolerates no reject)
    lines = SEASON.decode().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[2], "one-nil", 1)
    state = _validated(lake, "matches/2006-07.csv", "\n".join(lines).encode())
    # WHEN Clean runs THEN the file is refused with the row, the column and the rule
    with pytest.raises(ValidationFailed) as raised:
        Lake.invoke("clean", state)
    message = str(raised.value)
    assert "row 3, column 'FT'" in message and "max_reject_ratio" in message
    assert "one-nil" not in message
    # and nothing was uploaded: a refused object leaves no staged rows
    assert lake.keys("clean") == []


def test_personal_data_leaves_clean_pseudonymised(lake: Lake):
    # GIVEN synthetic absences: NIRs, names, birth dates and free text of 100 people
    raw = generate(300, seed=11, invalid_nir_rate=0.0)
    state = _validated(lake, "absences/2024-01.csv", raw.encode())
    # WHEN Clean runs
    result = Lake.invoke("clean", state)
    # THEN the rows are kept under the key's version, and no raw identifier reaches the output
    assert result["rows_out"] > 0 and result["rows_rejected"] == 0
    secret = client("secretsmanager").describe_secret(SecretId="lg-pseudonym-key")
    assert result["key_version"] in secret["VersionIdsToStages"]
    written = b"".join(client("s3").get_object(Bucket=b, Key=k)["Body"].read()
                       for b, k in map(split_uri, result["outputs"]))
    records = [line.split(";") for line in raw.splitlines()[1:]]
    nirs = {r[0] for r in records}
    names = {r[1] for r in records if len(r[1]) > 3}
    # counted, not listed: a failure must not print the identifiers it found
    assert sum(n.encode() in written for n in nirs) == 0
    assert sum(n.encode() in written for n in names) == 0
    tables = [_read(uri) for uri in result["outputs"]]
    assert all(len(set(t["person_id"].to_pylist())) <= len(nirs) for t in tables)


@contextmanager
def _spill_on_a_full_disk(folder: Path):
    """The stage's spill file lands on a device that is always full (``/dev/full``)."""
    (folder / "clean.arrows").symlink_to("/dev/full")
    yield str(folder)


def test_a_full_scratch_disk_is_a_capacity_limit_not_a_bad_file(lake: Lake, tmp_path: Path):
    # GIVEN a valid season, and a scratch disk with no room left for Clean's spill
    state = _validated(lake, "matches/2006-07.csv", SEASON)
    full = mock.patch("lakeguard.privacy.anonymise.tempfile",
                      SimpleNamespace(TemporaryDirectory=lambda **_: _spill_on_a_full_disk(tmp_path)))
    # WHEN Clean runs THEN it fails with the capacity error and its fixes, not ValidationFailed:
    # the producer's file is fine, and the quarantine report must say so to operators
    with full, pytest.raises(ScratchSpaceFull) as raised:
        Lake.invoke("clean", state)
    message = str(raised.value)
    assert "ephemeral storage" in message and "lambda_max_bytes" in message
    assert "re-drive" in message and "2006-07" not in message
    assert lake.keys("clean") == []
