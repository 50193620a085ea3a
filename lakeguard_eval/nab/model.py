"""The results of a NAB evaluation: per-file raw scores, per-profile normalised scores.

Frozen and JSON-ready, so the CLI, the report and tests all read the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FileScore:
    """One series at one threshold under one profile, with NAB's per-row counts.

    The counts are of scored rows (probation excluded): ``tp`` detected rows inside
    windows, ``fp`` detected rows outside, ``fn`` and ``tn`` the silent ones. The score
    itself counts windows, not rows: only each window's earliest detection earns a reward.
    """

    score: float
    tp: int
    tn: int
    fp: int
    fn: int


@dataclass(frozen=True)
class ProfileScore:
    """A detector under one cost profile: the threshold used, raw and normalised scores.

    ``null`` is the raw score of a detector that never fires and ``perfect`` that of one
    that fires on the first row of every window; ``normalised`` puts ``raw`` on their
    0-100 scale, which is the number NAB publishes.
    """

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    normalised: float
    files: Mapping[str, FileScore]


@dataclass(frozen=True)
class Evaluation:
    """A detector's NAB scores under every profile, keyed by profile name."""

    profiles: Mapping[str, ProfileScore]

    @property
    def files(self) -> list[str]:
        """The scored series, ``<category>/<file>.csv``, sorted."""
        return sorted({name for result in self.profiles.values() for name in result.files})

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready summary: each file's raw score and each profile's normalised score.

        Shape: ``{"files": {file: {profile: score}}, "normalised": {profile: score}}``.
        """
        return {
            "files": {
                name: {profile: result.files[name].score for profile, result in self.profiles.items()}
                for name in self.files
            },
            "normalised": {profile: result.normalised for profile, result in self.profiles.items()},
        }
