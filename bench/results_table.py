"""One result format for every benchmark, and the table ``make bench`` prints.

Each benchmark writes ``bench/results/<name>.json`` with at least ``name``, ``measured``,
``baseline``, ``ratio`` (measured / baseline, both taken in the same run), ``target`` (a
sentence such as ``"ratio <= 1.5"``) and ``met``; absolute times mean little on a noisy
machine, ratios do. Run ``python bench/results_table.py`` to print the table of the
results present.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class BenchResult:
    """One figure: what was measured, against which baseline, and whether it meets its target."""

    name: str
    measured: float
    baseline: float
    unit: str
    target: str
    met: bool | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """measured / baseline (same run)."""
        return self.measured / self.baseline if self.baseline else float("inf")

    def to_json(self) -> dict[str, Any]:
        """The stored document."""
        return {**asdict(self), "ratio": round(self.ratio, 4)}


def check(name: str, measured: float, baseline: float, unit: str, target: str,
          rule: Callable[[float], bool], **details: Any) -> BenchResult:
    """Build a result whose ``met`` is ``rule(ratio)``."""
    result = BenchResult(name, measured, baseline, unit, target, None, details)
    return BenchResult(name, measured, baseline, unit, target, bool(rule(result.ratio)), details)


def record(result: BenchResult) -> Path:
    """Write ``bench/results/<name>.json`` and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result.name}.json"
    path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    return path


def table(documents: list[dict[str, Any]]) -> str:
    """Name, measured, baseline, ratio, target and met, one row per result."""
    rows = [("benchmark", "measured", "baseline", "ratio", "target", "met")]
    for d in sorted(documents, key=lambda d: str(d["name"])):
        unit = d.get("unit", "")
        met = {True: "yes", False: "NO", None: "-"}[d.get("met")]
        rows.append((str(d["name"]), f"{d['measured']:.4g} {unit}".strip(),
                     f"{d['baseline']:.4g} {unit}".strip(), f"{d['ratio']:.3g}",
                     str(d.get("target") or "-"), met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    documents = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    documents = [d for d in documents if {"name", "measured", "baseline", "ratio"} <= set(d)]
    print(table(documents))
    return 0 if all(d.get("met") is not False for d in documents) else 1


if __name__ == "__main__":
    sys.exit(main())
