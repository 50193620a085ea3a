"""The detector the football contract names, on the real Ligue 1 seasons in ``data/football``.

Marseille lost 8-0 at Lyon on 24 May 1997, the heaviest defeat in its history here: whatever
detector wins the benchmark, the contract's choice must flag it, and must not bury it under
routine big wins.
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeguard.contracts import load_contract
from lakeguard.ml.detectors import fit
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"
DEFEAT = "1997-05-24"


@pytest.fixture(scope="module")
def contract():
    return load_contract("matches")


@pytest.fixture(scope="module")
def marseille(contract):
    """Every Marseille match of every season file, in date order, as the pipeline refines it."""
    tables = []
    for path in sorted(SEASONS.glob("*_fr.1.csv")):
        clean, _ = parse_table(path.read_bytes(), contract)
        tables.append(refine_table(clean, contract.refined_table("team_matches"), contract))
    rows = pa.concat_tables(tables)
    return rows.filter(pc.equal(rows["team"], "Marseille")).sort_by("date").to_pylist()


def _net(rows):
    return np.array([r["num_goals_net"] for r in rows], dtype=np.float64)


def test_the_8_0_defeat_is_marseilles_most_severe_alert_in_thirty_seasons(contract, marseille):
    # GIVEN the contract's detector and parameters, fitted on Marseille's first season
    spec = contract.model
    first = [r for r in marseille if r["season"] == marseille[0]["season"]]
    later = marseille[len(first):]
    model = fit(spec.detector, _net(first), spec.params)
    # WHEN it scores every later match in order
    explained = model.score(_net(later))
    # THEN the defeat at Lyon is an alert, the most severe of all, and says why
    at = next(i for i, r in enumerate(later) if str(r["date"]) == DEFEAT)
    assert (later[at]["opponent"], later[at]["goals_against"]) == ("Lyon", 8)
    assert explained.alert[at] and explained.is_anomaly[at]
    alerts = np.flatnonzero(explained.alert)
    assert explained.score[at] == explained.score[alerts].max()
    assert "lower than the lowest value seen before" in explained.reason[at]
    assert explained.lower[at] > -8
    # and alerts stay rare: about one match in fifty at most, not every big win
    assert alerts.size < 0.02 * len(later)


def test_the_defeat_is_flagged_even_by_a_first_model_that_has_seen_it(contract, marseille):
    # GIVEN only the 1996-97 season, as the pipeline sees a team's first file: its first model
    # is fitted on every match of the run, then scores the same matches, so the span already
    # holds the -8 and only the forecast test can flag it
    season = [r for r in marseille if r["season"] == "1996-97"]
    assert len(season) == 38
    spec = contract.model
    values = _net(season)
    explained = fit(spec.detector, values, spec.params).score(values)
    # THEN the defeat is still an alert, below its expected range, and most matches are normal
    at = next(i for i, r in enumerate(season) if str(r["date"]) == DEFEAT)
    assert explained.alert[at] and explained.score[at] > 1.0 and explained.lower[at] > -8
    assert "from the forecast" in explained.reason[at]
    assert explained.is_anomaly.mean() <= 0.15
