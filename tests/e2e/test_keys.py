"""Keys as producers write them travel end to end: EventBridge delivers them undecoded."""

from pathlib import Path

import pytest

from lakeguard.aws import client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASON = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1" / "2003-04_fr.1.csv"


@pytest.mark.parametrize("name", ["PSG+OM.csv", "saison 2003 04.csv", "100%.csv",
                                  "Olympique_de_Marseille_été.csv"])
def test_a_key_with_plus_percent_space_or_accent_is_published_under_that_key(lake, tmp_path,
                                                                            name):
    path = tmp_path / name
    path.write_bytes(SEASON.read_bytes())
    result = lake.drop(path, "matches/")
    assert result.outcome == "published", result.reason
    entries = client("dynamodb").scan(TableName=lake.outputs["LedgerTableName"])["Items"]
    assert any(e["object"]["S"].endswith(f"matches/{name}") and e["state"]["S"] == "published"
               for e in entries)
