"""CheckModel, Train and Score stages: per-entity models over a refined table's series.

History for an entity is every committed row of the model's table plus this run's staged
rows (replacing rows committed earlier from the same raw key), up to the latest time in
this run: re-running the same files in the same order gives the same models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, ModelSpec
from lakeguard.ml import registry
from lakeguard.ml.anomalies import (
    ANOMALIES_PARTITIONS,
    ANOMALIES_TABLE,
    entity_series,
    score_entity,
)
from lakeguard.ml.quantile_band import QuantileBand
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.layout import is_from_source, partition_path, staging_prefix
from lakeguard.s3io import list_keys, read_parquet, write_parquet
from lakeguard.transforms.refine import output_schema


def _spec(contract: Contract) -> ModelSpec:
    assert contract.model is not None  # the state machine only calls these when it is set
    return contract.model


def _uris(bucket: str, keys: list[str]) -> list[str]:
    return [f"s3://{bucket}/{k}" for k in keys if k.endswith(".parquet")]


def run_rows(ref: ObjectRef, contract: Contract, settings: Settings,
             session: boto3.session.Session | None = None) -> pa.Table:
    """This run's staged rows of the model's table."""
    spec = _spec(contract)
    schema = output_schema(contract.refined_table(spec.table), contract)
    keys = list_keys(settings.refined_bucket, f"{staging_prefix(ref.run_id)}{spec.table}/", session)
    return read_parquet(_uris(settings.refined_bucket, keys), session, schema)


def history(ref: ObjectRef, contract: Contract, settings: Settings, current: pa.Table,
            session: boto3.session.Session | None = None) -> pa.Table:
    """Committed rows from other raw keys plus this run's rows, up to this run's latest time."""
    spec = _spec(contract)
    schema = output_schema(contract.refined_table(spec.table), contract)
    committed = [k for k in list_keys(settings.refined_bucket, f"{spec.table}/", session)
                 if not is_from_source(k, ref.key_id)]
    past = read_parquet(_uris(settings.refined_bucket, committed), session, schema)
    rows = pa.concat_tables([past, current.select(schema.names).cast(schema)])
    latest = pc.max(current[spec.time])
    return rows.filter(pc.less_equal(rows[spec.time], latest))


def training_digest(series: pa.Table, spec: ModelSpec) -> dict[str, Any]:
    """What a model was trained on: row count, time range and a digest of (time, value)."""
    times = [str(t) for t in series[spec.time].to_pylist()]
    values = [str(v) for v in series[spec.value].to_pylist()]
    digest = hashlib.sha256("\n".join(f"{t},{v}" for t, v in zip(times, values, strict=True))
                            .encode()).hexdigest()
    return {"rows": series.num_rows, "from": min(times, default=None),
            "to": max(times, default=None), "digest": digest}


@dataclass(frozen=True)
class _Run:
    """What every modelling stage starts from: the object, its contract and its rows."""

    ref: ObjectRef
    contract: Contract
    spec: ModelSpec
    current: pa.Table


def _run(state: dict[str, Any], settings: Settings,
         session: boto3.session.Session | None) -> _Run:
    ref, contract = ObjectRef.from_state(state), load_contract(state["validation"]["dataset"])
    return _Run(ref, contract, _spec(contract), run_rows(ref, contract, settings, session))


def _entities(current: pa.Table, spec: ModelSpec) -> list[str]:
    return sorted(str(e) for e in pc.unique(current[spec.entity]).to_pylist())


def check_model(state: dict[str, Any], settings: Settings,
                session: boto3.session.Session | None = None) -> dict[str, Any]:
    """List the entities whose champion is missing or was trained on other data."""
    run = _run(state, settings, session)
    contract, spec, current = run.contract, run.spec, run.current
    rows = history(run.ref, contract, settings, current, session)
    stale = []
    for entity in _entities(current, spec):
        model = registry.champion(contract.name, entity, settings.artefacts_bucket, session)
        digest = training_digest(entity_series(rows, spec, entity), spec)["digest"]
        if model is None or model.training.get("digest") != digest:
            stale.append(entity)
    return {"needs_training": bool(stale), "stale": stale}


def train(state: dict[str, Any], settings: Settings,
          session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Fit a new version for each stale entity and make it champion."""
    run = _run(state, settings, session)
    ref, contract, spec = run.ref, run.contract, run.spec
    rows = history(ref, contract, settings, run.current, session)
    params = dict(spec.params)
    min_history = int(params.pop("min_history", 1))
    trained, skipped = [], []
    for entity in state["model_check"]["stale"]:
        series = entity_series(rows, spec, entity)
        if series.num_rows < min_history:
            skipped.append(entity)
            continue
        values = series[spec.value].to_numpy(zero_copy_only=False).astype(np.float64)
        band = QuantileBand.fit(values, **params)
        model = registry.ModelVersion(
            dataset=contract.name, entity=entity, detector=spec.detector,
            params={**params, "min_history": min_history}, state=band.to_json(),
            training={**training_digest(series, spec), "contract_digest": contract.digest,
                      "run_id": ref.run_id, "source": f"s3://{ref.bucket}/{ref.key}",
                      "source_version": ref.version_id},
        )
        trained.append({"entity": entity,
                        "version": registry.save(model, settings.artefacts_bucket, session)})
    return {"trained": len(trained), "skipped_short_history": skipped}


def score(state: dict[str, Any], settings: Settings,
          session: boto3.session.Session | None = None) -> dict[str, Any]:
    """Score this run's points with each entity's champion into staged anomalies."""
    run = _run(state, settings, session)
    ref, contract, spec, current = run.ref, run.contract, run.spec, run.current
    tables, unscored = [], []
    for entity in _entities(current, spec):
        model = registry.champion(contract.name, entity, settings.artefacts_bucket, session)
        if model is None:
            unscored.append(entity)
            continue
        band = QuantileBand.from_json(model.state)
        tables.append(score_entity(entity_series(current, spec, entity), spec, entity, band,
                                   model.version, contract.name))
    written, flagged = [], 0
    if tables:
        scored = pa.concat_tables(tables)
        flagged = int(pc.sum(scored["is_anomaly"]).as_py() or 0)
        for period in sorted(pc.unique(scored["season"]).to_pylist()):
            part = scored.filter(pc.equal(scored["season"], period))
            folder = partition_path(ANOMALIES_PARTITIONS, (contract.name, str(period)))
            key = f"{staging_prefix(ref.run_id)}{ANOMALIES_TABLE}/{folder}/part-0.parquet"
            written.append(write_parquet(part, settings.refined_bucket, key, session))
    return {"rows": sum(t.num_rows for t in tables), "anomalies": flagged,
            "unscored_entities": unscored, "outputs": written}
