"""What Train is asked to fit, and what came of it: the plain records the stages pass on.

Kept apart from :mod:`lakeguard.ml.training` so that reading a stage result needs neither
numpy nor the detectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Why an entity is (re)trained: it has no model, its data drifted, or a schedule asked.
Trigger = Literal["no_champion", "drift", "schedule"]


@dataclass(frozen=True)
class TrainRequest:
    """An entity to fit, and why (the reasons are drift figures' names, or the schedule)."""

    entity: str
    trigger: Trigger
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrainedVersion:
    """A model version Train registered, and the alias it was given."""

    entity: str
    version: str
    alias: str
