"""NAB's published number: a raw score on the scale from "never detects" (0) to perfect (100).

Raw scores depend on how many windows and rows a corpus has, so NAB reports
``100 * (raw - null) / (perfect - null)`` (``Runner.normalize``), where ``null`` is the raw
score of a detector that never fires and ``perfect`` is tpWeight per labelled window.
"""

from __future__ import annotations

from lakeguard.exceptions import BenchmarkError


def normalised_score(raw: float, null: float, perfect: float) -> float:
    """Place ``raw`` on NAB's scale: 0 for the null detector, 100 for the perfect one."""
    if perfect <= null:
        raise BenchmarkError(
            f"cannot normalise a NAB score when the perfect score ({perfect}) is not above the "
            f"null detector's ({null}): the scored series hold no anomaly window, or the profile's "
            "tpWeight and fnWeight are not positive. Score series that have labelled anomalies"
        )
    return 100.0 * (raw - null) / (perfect - null)
