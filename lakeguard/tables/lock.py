"""``datasets/tables.lock.json``: the tables as last deployed, so synth can refuse a breaking change.

Synth runs offline and cannot ask Glue what the deployed tables hold, so their columns and
partitions are recorded here, beside the contracts, and reviewed with them. At synth a
contract that drops or retypes a recorded column, or changes partitions, is refused with
one line (:func:`lakeguard.tables.ensure.check_compatible`); additions pass, and are
recorded by ``python -m lakeguard.tables.lock`` (a test fails until they are).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lakeguard.tables.ensure import check_compatible
from lakeguard.tables.spec import all_tables, describe

LOCK = Path(__file__).resolve().parents[2] / "datasets" / "tables.lock.json"


def recorded(path: Path = LOCK) -> list[dict[str, Any]]:
    """The recorded tables (none when there is no lock yet)."""
    if not path.is_file():
        return []
    tables: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return tables


def check_against_lock(path: Path = LOCK) -> None:
    """Refuse the contracts' tables if they break what the lock records (synth calls this)."""
    check_compatible(recorded(path), describe(all_tables()))


def write(path: Path = LOCK) -> Path:
    """Record the contracts' tables (after checking they only add to the lock)."""
    check_against_lock(path)
    lines = ",\n".join(f" {json.dumps(table)}" for table in describe(all_tables()))
    path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"recorded {write()}")
