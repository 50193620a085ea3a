"""Refine through its handler: the refined tables of a small object, derived in Lambda.

The rows must be the ones the Glue refine job hands over for the same clean rows (both
engines run :func:`lakeguard.transforms.refine.refine_table`'s transforms), staged where
Publish and the model stages look when a run has no branch.
"""

import pyarrow.compute as pc
import pytest

from lakeguard.contracts import load_contract
from lakeguard.s3io import read_parquet
from lakeguard.transforms.refine import refine_table
from tests.functional.conftest import SEASON, Lake


@pytest.fixture
def lake(served_lake: Lake) -> Lake:
    """Quality reads the published natural keys from Iceberg: a moto server's lake."""
    return served_lake


@pytest.fixture
def cleaned(lake: Lake) -> dict:
    state = lake.drop("matches/2006-07.csv", SEASON)
    for stage, result in (("validate", "validation"), ("clean", "clean"),
                          ("quality", "quality")):
        state[result] = Lake.invoke(stage, state)
    return state


def test_each_refined_table_is_staged_per_partition(lake: Lake, cleaned: dict):
    # WHEN Refine runs on a cleaned season
    result = Lake.invoke("refine", cleaned)
    # THEN each refined table of the contract is staged under the run, one object per
    # partition, with the rows the Arrow transform derives from the clean rows
    contract = load_contract("matches")
    clean = read_parquet(cleaned["clean"]["outputs"])
    prefix = f"_staging/{cleaned['run_id']}/"
    assert result["rows"] == {t.table: refine_table(clean, t, contract).num_rows
                              for t in contract.refined}
    assert result["rows"]["team_matches"] == 760  # one row per side of 380 matches
    assert sorted(lake.keys("refined", prefix)) == sorted(
        uri.split("/", 3)[3] for uri in result["outputs"])
    staged = read_parquet(result["outputs"])
    expected = refine_table(clean, contract.refined_table("team_matches"), contract)
    order = [(name, "ascending") for name in expected.column_names]
    assert staged.select(expected.column_names).sort_by(order).equals(
        expected.sort_by(order))
    assert set(pc.unique(staged["season"]).to_pylist()) == {"2006-07"}


def test_a_run_whose_rows_were_all_refused_stages_nothing(lake: Lake, cleaned: dict):
    # GIVEN a clean result with no staged rows (every row refused or suppressed)
    cleaned["clean"] = {**cleaned["clean"], "outputs": []}
    # WHEN Refine runs THEN it derives empty tables and stages no object
    result = Lake.invoke("refine", cleaned)
    assert result["outputs"] == [] and set(result["rows"].values()) == {0}
    assert lake.keys("refined", f"_staging/{cleaned['run_id']}/") == []
