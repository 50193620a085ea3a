"""When an entity's model is retrained, and how a new version is fitted and recorded.

An entity is trained when it has no champion, when this run's data drifted from the
champion's training data (see :mod:`lakeguard.ml.drift`), or when a schedule asks. A
retrained model is a challenger, fitted on the history without its most recent
``holdout`` share; :mod:`lakeguard.ml.champion` decides on that held-out part whether it
replaces the champion. Every version is registered with the lineage that names its exact
training rows, so they can be read back later.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from lakeguard import config
from lakeguard.contracts.model import Contract, ModelSpec
from lakeguard.exceptions import InsufficientHistory
from lakeguard.ml import detectors, drift, registry
from lakeguard.ml.anomalies import entity_series
from lakeguard.ml.champion import decide, evaluation
from lakeguard.ml.detectors.base import FloatArray
from lakeguard.ml.lineage import code_version, series_digest
from lakeguard.ml.store import S3Store
from lakeguard.ml.training_plan import TrainedVersion, TrainRequest
from lakeguard.parallel import ordered_map

#: Alert rates below this are treated as this when checking drift, so a model that
#: flagged nothing in training does not call every single flag a drift.
MIN_EXPECTED_RATE = 0.01


def values_of(series: pa.Table, spec: ModelSpec) -> FloatArray:
    """The series' values as the detectors take them."""
    values: FloatArray = series[spec.value].to_numpy(zero_copy_only=False).astype(np.float64)
    return values


def drift_check(store: S3Store, dataset: str, entity: str, champion: registry.ModelVersion,
                series: pa.Table, spec: ModelSpec) -> drift.DriftCheck:
    """This run's points against what the champion saw in training (PSI, alert rate)."""
    training = registry.training_reference(store, dataset, entity, champion.version)
    values = values_of(series, spec)
    flagged = detectors.load(champion.detector, champion.model).score(values).is_anomaly
    return drift.check(training["distribution"],
                       max(training["alert_rate"], MIN_EXPECTED_RATE), values, flagged,
                       spec.psi_threshold)


def training_digest(series: pa.Table, spec: ModelSpec) -> dict[str, Any]:
    """What a model was trained on: row count, time range and a digest of (time, value)."""
    times = [str(t) for t in series[spec.time].to_pylist()]
    values = [str(v) for v in series[spec.value].to_pylist()]
    return {"rows": series.num_rows, "from": min(times, default=None),
            "to": max(times, default=None), "digest": series_digest(times, values)}


def training_metrics(spec: ModelSpec, model: detectors.Detector,
                     values: FloatArray) -> dict[str, Any]:
    """Alert rate and value distribution of the training data: what drift is measured against.

    The alert rate is measured out of sample where the history allows it (fit on the first
    half, score the second, as the model will score new data); rolling and seasonal
    detectors carry state forward, so re-scoring their own history would replay it out of
    phase. Histories too short to halve fall back to the in-sample rate.
    """
    half = values.size // 2
    try:
        flagged = detectors.fit(spec.detector, values[:half], spec.params).score(
            values[half:]).is_anomaly
        method = "backtest"
    except InsufficientHistory:
        flagged, method = model.score(values).is_anomaly, "in_sample"
    return {"rows": int(values.size), "alert_rate": round(float(np.mean(flagged)), 6),
            "alert_rate_method": method, "distribution": drift.reference(values)}


def fit_entities(contract: Contract, store: S3Store, rows: pa.Table,
                 requests: list[TrainRequest], sources: dict[str, Any],
                 execution: dict[str, Any], key_version: str | None
                 ) -> tuple[list[TrainedVersion], list[str]]:
    """Fit and register one version per requested entity.

    Returns the versions, and the entities whose history is too short to fit.
    ``sources`` names the rows read (table snapshot, run), ``execution`` what asked for
    the training; both go into the lineage.
    """
    spec = contract.model
    if spec is None:
        raise ValueError(f"{contract.path} declares no [model]: there is nothing to train")
    seed = int(spec.params.get("seed", 0))

    def fit_one(request: TrainRequest) -> TrainedVersion | str:
        """The entity's new version, or its name when its history is too short."""
        series = entity_series(rows, spec, request.entity)
        known = registry.marks(store, contract.name, request.entity)  # moved only if unchanged
        champion = registry.resolve_marked(store, contract.name, request.entity,
                                           registry.CHAMPION, known)
        cut = series.num_rows if champion is None else round(series.num_rows * (1 - spec.holdout))
        fitted_on, holdout = series.slice(0, cut), values_of(series.slice(cut), spec)
        try:
            model = detectors.fit(spec.detector, values_of(fitted_on, spec), spec.params)
        except InsufficientHistory:
            return request.entity
        training = training_digest(fitted_on, spec)
        metrics: dict[str, Any] = {
            "training": training_metrics(spec, model, values_of(fitted_on, spec))}
        if champion is not None:
            metrics["evaluation"] = evaluation(model, champion, holdout, spec.target_alert_rate)
        version = registry.ModelVersion(contract.name, request.entity, spec.detector,
                                        model.to_json(), seed, training["digest"])
        lineage = {
            "parent": None if champion is None else champion.version,
            "trigger": request.trigger, "trigger_reasons": request.reasons,
            "training": {**training, **sources},
            "contract": {"name": contract.name, "digest": contract.digest},
            "pseudonym_key_version": key_version, "code_version": code_version(),
            "metrics": metrics, "execution": execution,
        }
        vid = registry.register(store, version, lineage)
        alias = decide(store, contract.name, request.entity, vid, metrics.get("evaluation"),
                       known)
        return TrainedVersion(request.entity, vid, alias)

    # entities apart: each reads and writes only its own registry keys
    done = list(ordered_map(fit_one, requests, config.MODEL_ENTITY_THREADS))
    return ([d for d in done if isinstance(d, TrainedVersion)],
            [d for d in done if isinstance(d, str)])
