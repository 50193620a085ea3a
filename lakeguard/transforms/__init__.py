"""Transforms over Arrow batches: parse raw, type, derive and refine."""

from __future__ import annotations

from lakeguard.transforms.parse import ParseReport, Reject, parse_object, parse_table
from lakeguard.transforms.refine import (
    TRANSFORMS,
    output_schema,
    refine_batch,
    refine_table,
    transform_for,
)

__all__ = [
    "TRANSFORMS",
    "ParseReport",
    "Reject",
    "output_schema",
    "parse_object",
    "parse_table",
    "refine_batch",
    "refine_table",
    "transform_for",
]
