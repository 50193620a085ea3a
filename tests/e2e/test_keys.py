"""Keys as producers write them travel end to end: EventBridge delivers them undecoded."""

from pathlib import Path

import pytest

from lakeguard.aws import client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"


# One season per key: the same season under two keys would be a duplicate upload.
@pytest.mark.parametrize(("name", "season"), [
    ("PSG+OM.csv", "2003-04"), ("saison 2007 08.csv", "2007-08"), ("100%.csv", "2008-09"),
    ("Olympique_de_Marseille_été.csv", "2009-10")])
def test_a_key_with_plus_percent_space_or_accent_is_published_under_that_key(lake, tmp_path,
                                                                            name, season):
    path = tmp_path / name
    path.write_bytes((SEASONS / f"{season}_fr.1.csv").read_bytes())
    result = lake.drop(path, "matches/")
    assert result.outcome == "published", result.reason
    entries = client("dynamodb").scan(TableName=lake.outputs["LedgerTableName"])["Items"]
    assert any(e["object"]["S"].endswith(f"matches/{name}") and e["state"]["S"] == "published"
               for e in entries)
