"""A burst of raw season files, good and bad mixed, for load tests and ``bench/burst.py``.

Good files are small seasons of fictional teams (one pair per file, so each file trains
its own models); bad files cycle through the failures producers actually send. Every file
has its own key, so the ledger must account for each one. Deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

HEADER = "Date,Team 1,FT,HT,Team 2"

#: name suffix -> body of a bad file (each one is quarantined at validation or cleaning).
BAD = {
    "empty": b"",
    "header_only": (HEADER + "\n").encode(),
    "semicolons": HEADER.replace(",", ";").encode() + b"\nThu Aug 1 2019;A;1-0;;B\n",
    "missing_column": b"Date,Team 1,HT,Team 2\nThu Aug 1 2019,A,1-0,B\n",
    "bad_scores": (HEADER + "\n" + "\n".join(["Thu Aug 1 2019,A,one-nil,,B"] * 5) + "\n").encode(),
    "not_utf8": (HEADER + "\nThu Aug 1 2019,Sète,1-0,,Béziers\n").encode("latin-1"),
}


def _good(index: int, rng: random.Random, matches: int) -> bytes:
    start = date(2019, 8, 1)
    lines = [HEADER]
    for day in range(matches):
        when = start + timedelta(days=day)
        text = f"{when:%a %b} {when.day} {when.year}"
        lines.append(f"{text},Burst{index:04d}A,{rng.randint(0, 4)}-{rng.randint(0, 4)},,"
                     f"Burst{index:04d}B")
    return ("\n".join(lines) + "\n").encode()


def write_burst(folder: Path, files: int = 300, bad_share: float = 0.5, seed: int = 1,
                matches: int = 24) -> dict[str, str]:
    """Write ``files`` season files to ``folder``; return ``{file name: expected outcome}``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    kinds = list(BAD)
    expected = {}
    for index in range(files):
        if rng.random() < bad_share:
            kind = kinds[index % len(kinds)]
            name, body, outcome = f"burst{index:04d}_{kind}_fr.1.csv", BAD[kind], "quarantined"
        else:
            name, body, outcome = (f"burst{index:04d}_fr.1.csv", _good(index, rng, matches),
                                   "published")
        (folder / name).write_bytes(body)
        expected[name] = outcome
    return expected
