"""CheckModel, Train and Score stages: per-entity models over a refined table's series.

These stages orchestrate; the modelling policy (when to retrain, how a version is
fitted, champion or challenger) is in :mod:`lakeguard.ml.training` and
:mod:`lakeguard.ml.champion`. What is here is which rows a model sees.

History for an entity is every row of the model's table in its current snapshot plus
this run's rows on its branch (replacing rows committed earlier from the same raw key), up to
the latest time in this run: re-running the same files in the same order gives the same
models. A model's lineage names that snapshot and the run, so its exact training rows can
be read back later (time travel), whatever was published since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard import config
from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, ModelSpec
from lakeguard.layout import partition_path
from lakeguard.ml import detectors, drift, registry
from lakeguard.ml.anomalies import entity_series, score_entity
from lakeguard.ml.lineage import schema_hash
from lakeguard.ml.metrics import publish_drift
from lakeguard.ml.store import S3Store
from lakeguard.ml.training import drift_check, fit_entities
from lakeguard.ml.training_plan import TrainRequest
from lakeguard.parallel import ordered_map
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.handoff import handed_rows, staged_prefix
from lakeguard.pipeline.state import Clean, ModelCheck, Score, Train, dataset_of
from lakeguard.s3io import write_parquet
from lakeguard.tables import REFINED, SOURCE_COLUMN, load_table
from lakeguard.tables.anomalies import ANOMALIES_PARTITIONS, ANOMALIES_TABLE
from lakeguard.tables.expressions import not_equal
from lakeguard.transforms.refine import output_schema

if TYPE_CHECKING:
    import boto3

_Judged = TypeVar("_Judged")


def _spec(contract: Contract) -> ModelSpec:
    assert contract.model is not None  # the state machine only calls these when it is set
    return contract.model


def _schema(contract: Contract) -> pa.Schema:
    return output_schema(contract.refined_table(_spec(contract).table), contract)


def _run_rows(ref: ObjectRef, contract: Contract, settings: Settings, table: Any,
              session: boto3.session.Session | None = None) -> pa.Table:
    """The run's rows of the model's table (loaded as ``table``), as Refine handed them over."""
    schema = _schema(contract)
    rows = handed_rows(table, settings.refined_bucket, _spec(contract).table, ref.run_id,
                       session, tuple(schema.names))
    if not rows.num_columns:
        return schema.empty_table()
    return rows.select(schema.names).cast(schema)


def _model_table(contract: Contract, settings: Settings) -> Any:
    return load_table(settings, REFINED, _spec(contract).table)


def committed(contract: Contract, settings: Settings, without_key: str | None = None,
              table: Any = None) -> tuple[pa.Table, dict[str, Any]]:
    """Rows of the model's table in its current snapshot, and what names that input.

    ``without_key`` leaves out the rows of one raw key (this run's earlier version);
    ``table`` is the model's table as already loaded (else it is loaded here).
    """
    from pyiceberg.expressions import AlwaysTrue

    schema = _schema(contract)
    table = _model_table(contract, settings) if table is None else table
    snapshot = table.current_snapshot()
    database, name = table.name()
    where = not_equal(SOURCE_COLUMN, without_key) if without_key else AlwaysTrue()
    rows = (table.scan(row_filter=where, selected_fields=tuple(schema.names)).to_arrow()
            if snapshot is not None else schema.empty_table())
    inputs = {"table": f"{database}.{name}",
              "snapshot_id": None if snapshot is None else str(snapshot.snapshot_id),
              "without_source_key_id": without_key, "schema_hash": schema_hash(schema)}
    return rows.select(schema.names).cast(schema), inputs


def history(ref: ObjectRef, contract: Contract, settings: Settings, current: pa.Table,
            table: Any = None) -> tuple[pa.Table, dict[str, Any]]:
    """Committed rows from other raw keys plus this run's rows, up to this run's latest time."""
    spec, schema = _spec(contract), _schema(contract)
    past, inputs = committed(contract, settings, without_key=ref.key_id, table=table)
    rows = pa.concat_tables([past, current.select(schema.names).cast(schema)])
    latest = pc.max(current[spec.time])
    return (rows.filter(pc.less_equal(rows[spec.time], latest)),
            {**inputs, "run_id": ref.run_id, "to": str(latest.as_py())})


@dataclass(frozen=True)
class _Run:
    """What every modelling stage starts from: the object, its contract and its rows."""

    ref: ObjectRef
    contract: Contract
    spec: ModelSpec
    current: pa.Table
    store: S3Store
    #: The model's Iceberg table as loaded at the start (Train reads its history from it).
    table: Any


def _run(state: dict[str, Any], settings: Settings,
         session: boto3.session.Session | None) -> _Run:
    ref, contract = ObjectRef.from_state(state), load_contract(dataset_of(state))
    table = _model_table(contract, settings)
    return _Run(ref, contract, _spec(contract), _run_rows(ref, contract, settings, table, session),
                S3Store(settings.artefacts_bucket, session), table)


def _entities(current: pa.Table, spec: ModelSpec) -> list[str]:
    return sorted(str(e) for e in pc.unique(current[spec.entity]).to_pylist())


def _per_entity(judge: Callable[[str], _Judged], entities: list[str]) -> Iterator[_Judged]:
    """``map(judge, entities)``, a few entities at once: each mostly waits on S3 GETs."""
    return ordered_map(judge, entities, config.MODEL_ENTITY_THREADS)


def check_model(state: dict[str, Any], settings: Settings,
                session: boto3.session.Session | None = None) -> ModelCheck:
    """Decide which entities to train, and publish each champion's drift figures."""
    run = _run(state, settings, session)
    name, spec = run.contract.name, run.spec
    to_train: list[TrainRequest] = []
    checks: dict[str, drift.DriftCheck] = {}

    def judge(entity: str) -> tuple[str, drift.DriftCheck | None]:
        """The entity's drift against its champion (``None``: it has no champion)."""
        champion = registry.resolve(run.store, name, entity, registry.CHAMPION)
        return entity, None if champion is None else drift_check(
            run.store, name, entity, champion, entity_series(run.current, spec, entity), spec)

    for entity, check in _per_entity(judge, _entities(run.current, spec)):
        if check is None:
            to_train.append(TrainRequest(entity, "no_champion"))
            continue
        checks[entity] = check
        if check.reasons:
            to_train.append(TrainRequest(entity, "drift", list(check.reasons)))
    publish_drift(name, checks, session)
    return ModelCheck(needs_training=bool(to_train), train=to_train,
                      drift={entity: check.to_json() for entity, check in checks.items()})


def train(state: dict[str, Any], settings: Settings,
          session: boto3.session.Session | None = None) -> Train:
    """Fit the entities CheckModel asked for (or, on a schedule, every registered entity)."""
    if "retrain" in state:
        return retrain_all(state, settings, session)
    run = _run(state, settings, session)
    ref, contract = run.ref, run.contract
    rows, inputs = history(ref, contract, settings, run.current, run.table)
    execution = {"run_id": ref.run_id, "source": f"s3://{ref.bucket}/{ref.key}",
                 "source_version": ref.version_id}
    cleaned = Clean.find(state)
    trained, skipped = fit_entities(contract, run.store, rows, ModelCheck.read(state).train,
                                    {"inputs": inputs}, execution,
                                    cleaned.key_version if cleaned else None)
    return Train(trained=trained, skipped_short_history=skipped)


def retrain_all(state: dict[str, Any], settings: Settings,
                session: boto3.session.Session | None = None) -> Train:
    """Scheduled retraining: a challenger for every entity that has a model, on all history.

    The EventBridge Scheduler schedule starts the state machine with
    ``{"retrain": "<schedule>", "dataset": "<name>"}``; no raw object is involved.
    """
    contract = load_contract(state["dataset"])
    store = S3Store(settings.artefacts_bucket, session)
    rows, inputs = committed(contract, settings)
    requests = [TrainRequest(entity, "schedule", [str(state["retrain"])])
                for _, entity in registry.entities(store, contract.name)]
    trained, skipped = fit_entities(contract, store, rows, requests, {"inputs": inputs},
                                    {"schedule": state["retrain"]}, None)
    return Train(trained=trained, skipped_short_history=skipped)


def score(state: dict[str, Any], settings: Settings,
          session: boto3.session.Session | None = None) -> Score:
    """Score this run's points with each entity's champion into staged anomalies."""
    run = _run(state, settings, session)
    ref, contract, spec, current = run.ref, run.contract, run.spec, run.current
    tables, unscored = [], []

    def judge(entity: str) -> tuple[str, pa.Table | None]:
        """The entity's scored points (``None``: it has no champion to score them)."""
        champion = registry.resolve(run.store, contract.name, entity, registry.CHAMPION)
        return entity, None if champion is None else score_entity(
            entity_series(current, spec, entity), spec, entity,
            detectors.load(champion.detector, champion.model), champion.version, contract.name)

    for entity, scored_points in _per_entity(judge, _entities(current, spec)):
        if scored_points is None:
            unscored.append(entity)
        else:
            tables.append(scored_points)
    written, flagged, alerts = [], 0, 0
    if tables:
        scored = pa.concat_tables(tables)
        flagged = int(pc.sum(scored["is_anomaly"]).as_py() or 0)
        alerts = int(pc.sum(scored["alert"]).as_py() or 0)
        for period in sorted(pc.unique(scored["season"]).to_pylist()):
            part = scored.filter(pc.equal(scored["season"], period))
            folder = partition_path(ANOMALIES_PARTITIONS, (contract.name, str(period)))
            key = f"{staged_prefix(ref.run_id, ANOMALIES_TABLE)}{folder}/part-0.parquet"
            written.append(write_parquet(part, settings.refined_bucket, key, session))
    return Score(rows=sum(t.num_rows for t in tables), anomalies=flagged, alerts=alerts,
                 unscored_entities=unscored, outputs=written)
