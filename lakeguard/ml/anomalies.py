"""Scoring a refined table's series against fitted models into ``refined.anomalies``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import ModelSpec
from lakeguard.ml.detectors import Detector
from lakeguard.ml.detectors.base import FloatArray
from lakeguard.tables.anomalies import ANOMALIES_SCHEMA


def entity_series(table: pa.Table, spec: ModelSpec, entity: str) -> pa.Table:
    """The rows of one entity, sorted by time (the order a detector expects)."""
    rows = table.filter(pc.equal(table[spec.entity], entity))
    return rows.sort_by([(spec.time, "ascending")])


#: Significant digits the stored band keeps of its half-width. A model's band is an
#: estimate far coarser than a thousandth of its width; every digit beyond is bytes each
#: analyst's scan of ``refined.anomalies`` pays for (``bench/athena_scan.py``).
BAND_DIGITS = 3


def band_decimals(lower: FloatArray, upper: FloatArray) -> int:
    """Decimals that keep :data:`BAND_DIGITS` significant digits of the typical half-width.

    Taken per entity from the median half-width, so a series of rates in thousandths keeps
    as many significant digits as goal differences do.
    """
    half = (upper - lower) / 2
    half = half[np.isfinite(half) & (half > 0)]
    if half.size == 0:
        return 6
    return int(np.clip(BAND_DIGITS - 1 - np.floor(np.log10(np.median(half))), 0, 9))


def score_entity(
    rows: pa.Table, spec: ModelSpec, entity: str, model: Detector, version: str,
    dataset: str,
) -> pa.Table:
    """Score one entity's rows, in time order, with its model into anomalies rows.

    ``is_anomaly`` is the model's decision on its exact band; the band and score are
    stored to :data:`BAND_DIGITS` significant digits, as the reason sentence shows them.
    """
    explained = model.score(rows[spec.value].to_numpy(zero_copy_only=False).astype(np.float64))
    n = rows.num_rows
    decimals = band_decimals(explained.lower, explained.upper)
    columns: dict[str, Any] = {
        "entity": [entity] * n,
        "ts": rows[spec.time],
        "value": explained.value,
        "lower": np.round(explained.lower, decimals),
        "upper": np.round(explained.upper, decimals),
        "score": np.round(explained.score, BAND_DIGITS - 1),  # in half-widths
        "is_anomaly": explained.is_anomaly,
        "alert": explained.alert,
        "reason": explained.reason,
        "detector": [model.name] * n,
        "model_version": [version] * n,
        "dataset": [dataset] * n,
        "season": rows[spec.period],
    }
    return pa.table(columns, schema=ANOMALIES_SCHEMA)
