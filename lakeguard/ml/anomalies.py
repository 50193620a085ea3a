"""Scoring a refined table's series against fitted models into ``refined.anomalies``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import ModelSpec
from lakeguard.ml.detectors import Detector
from lakeguard.tables.anomalies import ANOMALIES_SCHEMA


def entity_series(table: pa.Table, spec: ModelSpec, entity: str) -> pa.Table:
    """The rows of one entity, sorted by time (the order a detector expects)."""
    rows = table.filter(pc.equal(table[spec.entity], entity))
    return rows.sort_by([(spec.time, "ascending")])


def score_entity(
    rows: pa.Table, spec: ModelSpec, entity: str, model: Detector, version: str,
    dataset: str,
) -> pa.Table:
    """Score one entity's rows, in time order, with its model into anomalies rows."""
    explained = model.score(rows[spec.value].to_numpy(zero_copy_only=False).astype(np.float64))
    n = rows.num_rows
    columns: dict[str, Any] = {
        "entity": [entity] * n,
        "ts": rows[spec.time],
        "value": explained.value,
        "lower": np.round(explained.lower, 6),
        "upper": np.round(explained.upper, 6),
        "score": np.round(explained.score, 6),
        "is_anomaly": explained.is_anomaly,
        "alert": explained.alert,
        "reason": explained.reason,
        "detector": [model.name] * n,
        "model_version": [version] * n,
        "dataset": [dataset] * n,
        "season": rows[spec.period],
    }
    return pa.table(columns, schema=ANOMALIES_SCHEMA)
