"""Large absence files for the benchmarks, fast: a generated chunk tiled with fresh identities.

:func:`lakeguard.samples.absences.generate` (Faker, one person per three rows) takes about
35 s for a million rows. Here a 100,000-row chunk is generated once and repeated; each
repetition gives every person another NIR (another order number, check key recomputed,
so valid NIRs stay valid and the generator's mistyped ones stay invalid, spacing kept),
so the distinct identities grow with the file as in the generator's own output, and the
quasi-identifier classes keep their shape (k-anonymity behaves as on generated data).
Files are cached under ``bench/results/samples.tmp/`` (ignored by git).
"""

from __future__ import annotations

import re
from pathlib import Path

from lakeguard.identifiers.nir import check_key, why_invalid
from lakeguard.samples.absences import generate

SAMPLES = Path(__file__).resolve().parent / "results" / "samples.tmp"
CHUNK_ROWS = 100_000


def _renumbered(nir: str, tile: int) -> str:
    """The same person's NIR under another order number (valid stays valid, invalid invalid)."""
    canon = re.sub(r"[\s.\-_]", "", nir).upper()
    body = canon[:10] + f"{(int(canon[10:13]) + tile * 37) % 999 + 1:03d}"
    key = check_key(body)
    if why_invalid(canon) is not None:  # a mistyped key: keep it off by the same amount
        key = f"{(int(key) + int(canon[13:]) - int(check_key(canon[:13]))) % 97 or 1:02d}"
        if key == check_key(body):
            key = f"{int(key) % 96 + 1:02d}"
    new = body + key
    if " " in nir:
        return f"{new[0]} {new[1:3]} {new[3:5]} {new[5:7]} {new[7:10]} {new[10:13]} {new[13:]}"
    return new


def tile(path: Path, rows: int, seed: int = 7, fresh_identities: bool = True) -> Path:
    """Write ``rows`` data rows to ``path``: the generated chunk repeated as often as needed."""
    header, _, body = generate(CHUNK_ROWS, seed).partition("\n")
    lines = body.splitlines()
    nirs = sorted({line.split(";", 1)[0] for line in lines})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        written, repetition = 0, 0
        while written < rows:
            take = lines[: rows - written]
            if fresh_identities and repetition:
                renamed = {n: _renumbered(n, repetition) for n in nirs}
                take = [renamed[line.split(";", 1)[0]] + line[line.index(";"):] for line in take]
            out.write("\n".join(take) + "\n")
            written += len(take)
            repetition += 1
    return path


def sample(rows: int, seed: int = 7) -> Path:
    """The cached file of ``rows`` absences (made on first use, about 10 s per million rows)."""
    path = SAMPLES / f"absences-{rows}-{seed}.csv"
    if not path.exists():
        tile(path.with_suffix(".partial"), rows, seed).rename(path)
    return path
