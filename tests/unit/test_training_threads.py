"""Train fits entities a few at once: the registry ends as when they are fitted one by one.

GIVEN two seasons refined as the pipeline refines them, WHEN ``fit_entities`` trains
six teams on the first and then on both (champions, then challengers weighed against
them) with one thread and with eight, each into a registry of its own, THEN the versions,
aliases and lineage are the same, apart from the clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts import load_contract
from lakeguard.ml.store import FolderStore
from lakeguard.ml.training import fit_entities
from lakeguard.ml.training_plan import TrainRequest
from lakeguard.transforms.parse import parse_table
from lakeguard.transforms.refine import refine_table

SEASONS = sorted((Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1")
                 .glob("*_fr.1.csv"))[:2]
_CLOCK = ("created_at", "at")


def _refined(contract, paths):
    tables = []
    for path in paths:
        clean, _ = parse_table(path.read_bytes(), contract)
        tables.append(refine_table(clean, contract.refined_table("team_matches"), contract))
    return pa.concat_tables(tables)


def _without_clock(document):
    if isinstance(document, dict):
        return {k: _without_clock(v) for k, v in document.items() if k not in _CLOCK}
    if isinstance(document, list):
        return [_without_clock(v) for v in document]
    return document


def _registry(root: Path) -> dict[str, object]:
    return {p.relative_to(root).as_posix(): _without_clock(json.loads(p.read_text()))
            for p in sorted(root.rglob("*.json"))}


def test_entities_fitted_at_once_register_what_one_by_one_registers(tmp_path, monkeypatch):
    contract = load_contract("matches")
    first, both = _refined(contract, SEASONS[:1]), _refined(contract, SEASONS)
    teams = sorted(pc.unique(first["team"]).to_pylist())[:6]  # enough to run 6 at once
    outcomes, registries = [], []
    for threads in (1, 8):
        monkeypatch.setattr("lakeguard.config.MODEL_ENTITY_THREADS", threads)
        root = tmp_path / f"threads-{threads}"
        root.mkdir()
        store = FolderStore(root)
        rounds = [fit_entities(contract, store, rows,  # type: ignore[arg-type]
                               [TrainRequest(team, "no_champion") for team in teams],
                               {"inputs": {"round": n}}, {"run_id": f"run-{n}"}, None)
                  for n, rows in enumerate((first, both))]
        outcomes.append(rounds)
        registries.append(_registry(root))
    assert outcomes[0] == outcomes[1]
    assert registries[0] == registries[1]
    champions, challengers = (trained for trained, _ in outcomes[0])
    assert [t.alias for t in champions] == ["champion"] * 6
    assert len(challengers) == 6, "the second round weighs a new version against each champion"
