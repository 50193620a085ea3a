"""NAB's application profiles: how much a detection, a false alarm and a miss are worth.

NAB scores one detector three times with different cost matrices, because an operator who
drowns in alerts and one who must never miss an outage want different detectors. The
package ships NAB's ``config/profiles.json`` unchanged (Copyright 2014-2024 Numenta Inc.,
MIT licence) so a run without the NAB repository still scores exactly as NAB does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lakeguard.exceptions import BenchmarkError

#: The profile file shipped with the package, a copy of NAB's ``config/profiles.json``.
BUNDLED_PROFILES = "profiles.json"

_WEIGHTS = ("tpWeight", "fpWeight", "fnWeight")


@dataclass(frozen=True)
class CostProfile:
    """The weights of one profile; NAB's ``tnWeight`` is left out because NAB never uses it."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


def load_profiles(path: str | Path | None = None) -> dict[str, CostProfile]:
    """The profiles of a NAB-format file, in file order; the bundled NAB copy by default."""
    if path is None:
        bundled = resources.files("lakeguard_eval.nab") / BUNDLED_PROFILES
        source, text = str(bundled), bundled.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise BenchmarkError(f"cannot read the cost profiles file {source}: {err.strerror}") from err
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise BenchmarkError(f"{source} is not valid JSON ({err}); NAB's config/profiles.json "
                             "shows the expected format") from err
    if not isinstance(document, dict) or not document:
        raise BenchmarkError(f"{source} must be a JSON object of profiles, e.g. "
                             '{"standard": {"CostMatrix": {"tpWeight": 1.0, ...}}}')
    return {name: _profile(name, body, source) for name, body in document.items()}


def _profile(name: str, body: Any, source: str) -> CostProfile:
    matrix = body.get("CostMatrix") if isinstance(body, dict) else None
    if not isinstance(matrix, dict):
        raise BenchmarkError(f"{source}: profile {name!r} has no 'CostMatrix' object; add one "
                             f"with the fields {', '.join(_WEIGHTS)}")
    weights = []
    for field in _WEIGHTS:
        value = matrix.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BenchmarkError(f"{source}: profile {name!r} field CostMatrix.{field} must be a "
                                 f"finite number, got {value!r}")
        weights.append(float(value))
    return CostProfile(name, *weights)
