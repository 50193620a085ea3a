"""CheckModel, Train and Score stages: per-entity models over a refined table's series.

History for an entity is every row of the model's table in its current snapshot plus
this run's rows on its branch (replacing rows committed earlier from the same raw key), up to
the latest time in this run: re-running the same files in the same order gives the same
models. A model's lineage names that snapshot and the run, so its exact training rows can
be read back later (time travel), whatever was published since.

A model is trained only when it is needed: the entity has no champion, this run's data
drifted from the champion's training data (see :mod:`lakeguard.ml.drift`), or a scheduled
retrain asked for it. A retrained model is a challenger, fitted on the history without
its most recent ``holdout`` share; it replaces the champion only if its expected ranges
are better on that held-out part by the interval score (narrow ranges that still hold the
points), otherwise it stays recorded as the challenger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, ModelSpec
from lakeguard.exceptions import InsufficientHistory
from lakeguard.layout import partition_path, staging_prefix
from lakeguard.ml import detectors, drift, registry
from lakeguard.ml.anomalies import entity_series, score_entity
from lakeguard.ml.detectors.base import FloatArray
from lakeguard.ml.lineage import code_version, schema_hash, series_digest
from lakeguard.ml.metrics import publish_drift
from lakeguard.ml.store import S3Store
from lakeguard.pipeline.event import ObjectRef
from lakeguard.s3io import write_parquet
from lakeguard.tables import REFINED, SOURCE_COLUMN, load_table
from lakeguard.tables.anomalies import ANOMALIES_PARTITIONS, ANOMALIES_TABLE
from lakeguard.tables.branches import branch_rows
from lakeguard.tables.expressions import not_equal
from lakeguard.transforms.refine import output_schema

if TYPE_CHECKING:
    import boto3

#: Alert rates below this are treated as this when checking drift, so a model that
#: flagged nothing in training does not call every single flag a drift.
_MIN_EXPECTED_RATE = 0.01


def _spec(contract: Contract) -> ModelSpec:
    assert contract.model is not None  # the state machine only calls these when it is set
    return contract.model


def _schema(contract: Contract) -> pa.Schema:
    return output_schema(contract.refined_table(_spec(contract).table), contract)


def _run_rows(ref: ObjectRef, contract: Contract, settings: Settings) -> pa.Table:
    """The run's rows of the model's table, on the branch the refine job wrote them to."""
    schema = _schema(contract)
    rows = branch_rows(_model_table(contract, settings), ref.run_id, tuple(schema.names))
    return schema.empty_table() if rows is None else rows.select(schema.names).cast(schema)


def _model_table(contract: Contract, settings: Settings) -> Any:
    return load_table(settings, REFINED, _spec(contract).table)


def committed(contract: Contract, settings: Settings, without_key: str | None = None
              ) -> tuple[pa.Table, dict[str, Any]]:
    """Rows of the model's table in its current snapshot, and what names that input.

    ``without_key`` leaves out the rows of one raw key (this run's earlier version).
    """
    from pyiceberg.expressions import AlwaysTrue

    schema, table = _schema(contract), _model_table(contract, settings)
    snapshot = table.current_snapshot()
    database, name = table.name()
    where = not_equal(SOURCE_COLUMN, without_key) if without_key else AlwaysTrue()
    rows = (table.scan(row_filter=where, selected_fields=tuple(schema.names)).to_arrow()
            if snapshot is not None else schema.empty_table())
    inputs = {"table": f"{database}.{name}",
              "snapshot_id": None if snapshot is None else str(snapshot.snapshot_id),
              "without_source_key_id": without_key, "schema_hash": schema_hash(schema)}
    return rows.select(schema.names).cast(schema), inputs


def history(ref: ObjectRef, contract: Contract, settings: Settings, current: pa.Table
            ) -> tuple[pa.Table, dict[str, Any]]:
    """Committed rows from other raw keys plus this run's rows, up to this run's latest time."""
    spec, schema = _spec(contract), _schema(contract)
    past, inputs = committed(contract, settings, without_key=ref.key_id)
    rows = pa.concat_tables([past, current.select(schema.names).cast(schema)])
    latest = pc.max(current[spec.time])
    return (rows.filter(pc.less_equal(rows[spec.time], latest)),
            {**inputs, "run_id": ref.run_id, "to": str(latest.as_py())})


def _values(series: pa.Table, spec: ModelSpec) -> FloatArray:
    values: FloatArray = series[spec.value].to_numpy(zero_copy_only=False).astype(np.float64)
    return values


def training_digest(series: pa.Table, spec: ModelSpec) -> dict[str, Any]:
    """What a model was trained on: row count, time range and a digest of (time, value)."""
    times = [str(t) for t in series[spec.time].to_pylist()]
    values = [str(v) for v in series[spec.value].to_pylist()]
    return {"rows": series.num_rows, "from": min(times, default=None),
            "to": max(times, default=None), "digest": series_digest(times, values)}


@dataclass(frozen=True)
class _Run:
    """What every modelling stage starts from: the object, its contract and its rows."""

    ref: ObjectRef
    contract: Contract
    spec: ModelSpec
    current: pa.Table
    store: S3Store


def _run(state: dict[str, Any], settings: Settings,
         session: boto3.session.Session | None) -> _Run:
    ref, contract = ObjectRef.from_state(state), load_contract(state["validation"]["dataset"])
    return _Run(ref, contract, _spec(contract), _run_rows(ref, contract, settings),
                S3Store(settings.artefacts_bucket, session))


def _entities(current: pa.Table, spec: ModelSpec) -> list[str]:
    return sorted(str(e) for e in pc.unique(current[spec.entity]).to_pylist())


def check_model(state: dict[str, Any], settings: Settings,
                session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Decide which entities to train, and publish each champion's drift figures."""
    run = _run(state, settings, session)
    name, spec = run.contract.name, run.spec
    to_train: list[dict[str, Any]] = []
    checks: dict[str, drift.DriftCheck] = {}
    for entity in _entities(run.current, spec):
        champion = registry.resolve(run.store, name, entity, registry.CHAMPION)
        if champion is None:
            to_train.append({"entity": entity, "trigger": "no_champion", "reasons": []})
            continue
        training = registry.lineage(run.store, name, entity, champion.version)["metrics"]["training"]
        values = _values(entity_series(run.current, spec, entity), spec)
        flagged = detectors.load(champion.detector, champion.model).score(values).is_anomaly
        check = drift.check(training["distribution"],
                            max(training["alert_rate"], _MIN_EXPECTED_RATE), values, flagged,
                            spec.psi_threshold)
        checks[entity] = check
        if check.reasons:
            to_train.append({"entity": entity, "trigger": "drift", "reasons": check.reasons})
    publish_drift(name, checks, session)
    return {"needs_training": bool(to_train), "train": to_train,
            "drift": {entity: check.to_json() for entity, check in checks.items()}}


def _training_metrics(spec: ModelSpec, model: detectors.Detector,
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


def interval_score(model: detectors.Detector, holdout: FloatArray, alpha: float) -> float:
    """Mean interval score of the model's expected ranges on held-out points (lower wins).

    The interval score (Gneiting & Raftery, 2007) of a range meant to hold ``1 - alpha``
    of the points is its width plus ``2 / alpha`` times how far a point falls outside it:
    it rewards ranges that are narrow and still right, which is what makes flags rare
    and meaningful. A range always as wide as the data never flags and scores badly.
    """
    if not holdout.size:
        return 0.0
    explained = model.score(holdout)
    lower, upper, value = explained.lower, explained.upper, explained.value
    penalty = (2.0 / alpha) * (np.maximum(lower - value, 0.0) + np.maximum(value - upper, 0.0))
    return round(float(np.mean((upper - lower) + penalty)), 6)


def train(state: dict[str, Any], settings: Settings,
          session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Fit the entities CheckModel asked for (or, on a schedule, every registered entity)."""
    if "retrain" in state:
        return retrain_all(state, settings, session)
    run = _run(state, settings, session)
    ref, contract = run.ref, run.contract
    rows, inputs = history(ref, contract, settings, run.current)
    execution = {"run_id": ref.run_id, "source": f"s3://{ref.bucket}/{ref.key}",
                 "source_version": ref.version_id}
    return _fit_entities(contract, run.store, rows, state["model_check"]["train"],
                         {"inputs": inputs},
                         execution, state.get("clean", {}).get("key_version"))


def retrain_all(state: dict[str, Any], settings: Settings,
                session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Scheduled retraining: a challenger for every entity that has a model, on all history.

    The EventBridge Scheduler schedule starts the state machine with
    ``{"retrain": "<schedule>", "dataset": "<name>"}``; no raw object is involved.
    """
    contract = load_contract(state["dataset"])
    store = S3Store(settings.artefacts_bucket, session)
    rows, inputs = committed(contract, settings)
    requests = [{"entity": entity, "trigger": "schedule", "reasons": [str(state["retrain"])]}
                for _, entity in registry.entities(store, contract.name)]
    return _fit_entities(contract, store, rows, requests, {"inputs": inputs},
                         {"schedule": state["retrain"]}, None)


def _fit_entities(contract: Contract, store: S3Store, rows: pa.Table,
                  requests: list[dict[str, Any]], sources: dict[str, Any],  # the inputs read
                  execution: dict[str, Any], key_version: str | None) -> dict[str, Any]:
    """Fit one version per requested entity; the first is champion, later ones challengers."""
    spec = _spec(contract)
    seed = int(spec.params.get("seed", 0))
    outcomes, skipped = [], []
    for request in requests:
        entity = request["entity"]
        series = entity_series(rows, spec, entity)
        champion = registry.resolve(store, contract.name, entity, registry.CHAMPION)
        cut = series.num_rows if champion is None else round(series.num_rows * (1 - spec.holdout))
        fitted_on, holdout = series.slice(0, cut), _values(series.slice(cut), spec)
        try:
            model = detectors.fit(spec.detector, _values(fitted_on, spec), spec.params)
        except InsufficientHistory:
            skipped.append(entity)
            continue
        training = training_digest(fitted_on, spec)
        metrics: dict[str, Any] = {
            "training": _training_metrics(spec, model, _values(fitted_on, spec))}
        if champion is not None:
            champ = detectors.load(champion.detector, champion.model)
            metrics["evaluation"] = {
                "holdout_rows": int(holdout.size), "metric": "interval_score",
                "alpha": spec.target_alert_rate,
                "challenger": interval_score(model, holdout, spec.target_alert_rate),
                "champion": interval_score(champ, holdout, spec.target_alert_rate),
            }
        version = registry.ModelVersion(contract.name, entity, spec.detector, model.to_json(),
                                        seed, training["digest"])
        lineage = {
            "parent": None if champion is None else champion.version,
            "trigger": request["trigger"], "trigger_reasons": request["reasons"],
            "training": {**training, **sources},
            "contract": {"name": contract.name, "digest": contract.digest},
            "pseudonym_key_version": key_version, "code_version": code_version(),
            "metrics": metrics, "execution": execution,
        }
        vid = registry.register(store, version, lineage)
        outcomes.append({"entity": entity, "version": vid,
                         **_decide(store, contract.name, entity, vid, metrics)})
    return {"trained": outcomes, "skipped_short_history": skipped}


def _decide(store: S3Store, dataset: str, entity: str, version: str,
            metrics: dict[str, Any]) -> dict[str, str]:
    """Champion if first or better on held-out data than the champion; challenger otherwise."""
    evaluation = metrics.get("evaluation")
    if evaluation is None:
        registry.promote(store, dataset, entity, version, "first model of this entity")
        return {"alias": registry.CHAMPION}
    challenger, champion = evaluation["challenger"], evaluation["champion"]
    if challenger < champion:
        registry.promote(store, dataset, entity, version,
                         f"won on held-out data: interval score {challenger} < {champion}")
        return {"alias": registry.CHAMPION}
    if registry.aliases(store, dataset, entity).get(registry.CHAMPION) != version:
        registry.set_alias(store, dataset, entity, registry.CHALLENGER, version,
                           f"lost on held-out data: interval score {challenger} >= {champion}")
    return {"alias": registry.CHALLENGER}


def score(state: dict[str, Any], settings: Settings,
          session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Score this run's points with each entity's champion into staged anomalies."""
    run = _run(state, settings, session)
    ref, contract, spec, current = run.ref, run.contract, run.spec, run.current
    tables, unscored = [], []
    for entity in _entities(current, spec):
        champion = registry.resolve(run.store, contract.name, entity, registry.CHAMPION)
        if champion is None:
            unscored.append(entity)
            continue
        model = detectors.load(champion.detector, champion.model)
        tables.append(score_entity(entity_series(current, spec, entity), spec, entity, model,
                                   champion.version, contract.name))
    written, flagged, alerts = [], 0, 0
    if tables:
        scored = pa.concat_tables(tables)
        flagged = int(pc.sum(scored["is_anomaly"]).as_py() or 0)
        alerts = int(pc.sum(scored["alert"]).as_py() or 0)
        for period in sorted(pc.unique(scored["season"]).to_pylist()):
            part = scored.filter(pc.equal(scored["season"], period))
            folder = partition_path(ANOMALIES_PARTITIONS, (contract.name, str(period)))
            key = f"{staging_prefix(ref.run_id)}{ANOMALIES_TABLE}/{folder}/part-0.parquet"
            written.append(write_parquet(part, settings.refined_bucket, key, session))
    return {"rows": sum(t.num_rows for t in tables), "anomalies": flagged, "alerts": alerts,
            "unscored_entities": unscored, "outputs": written}
