"""Re-score the anomalies of objects an erasure changed, with the current champions.

An anomaly says that a series (departement and ICD chapter, say) was unusual in a month:
computed with a person's absences, it still carries them after their rows are gone. The
refined rows of each affected source object are read back (already recomputed), each
entity is scored again with its champion model, and the source's anomaly objects are
replaced. Entities without a champion get no anomalies, as in the pipeline's own Score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import Settings
from lakeguard.contracts.model import Contract
from lakeguard.ml import detectors, registry
from lakeguard.ml.anomalies import ANOMALIES_PARTITIONS, ANOMALIES_TABLE, entity_series, score_entity
from lakeguard.ml.store import S3Store
from lakeguard.pipeline.layout import is_from_source, object_key, partition_path
from lakeguard.s3io import delete_keys, list_keys, read_parquet, write_parquet
from lakeguard.transforms.refine import output_schema

if TYPE_CHECKING:
    import boto3


def rescore_sources(contract: Contract, sources: set[str], settings: Settings,
                    session: boto3.session.Session | None = None,
                    dry_run: bool = False) -> list[str]:
    """Replace the anomaly objects of ``sources``; return their keys (the old ones if dry)."""
    spec = contract.model
    if spec is None or not sources:
        return []
    prefix = f"{ANOMALIES_TABLE}/dataset={contract.name}/"
    existing = list_keys(settings.refined_bucket, prefix, session)
    store = S3Store(settings.artefacts_bucket, session)
    schema = output_schema(contract.refined_table(spec.table), contract)
    refined = list_keys(settings.refined_bucket, f"{spec.table}/", session)
    written: list[str] = []
    for source in sorted(sources):
        old = [k for k in existing if is_from_source(k, source)]
        if dry_run:
            written += old
            continue
        delete_keys(settings.refined_bucket, old, session)
        uris = [f"s3://{settings.refined_bucket}/{k}" for k in refined
                if is_from_source(k, source) and k.endswith(".parquet")]
        current = read_parquet(uris, session, schema) if uris else schema.empty_table()
        tables = []
        for entity in sorted(str(e) for e in pc.unique(current[spec.entity]).to_pylist()):
            champion = registry.resolve(store, contract.name, entity, registry.CHAMPION)
            if champion is None:
                continue
            model = detectors.load(champion.detector, champion.model)
            tables.append(score_entity(entity_series(current, spec, entity), spec, entity,
                                       model, champion.version, contract.name))
        if not tables:
            continue
        scored = pa.concat_tables(tables)
        for period in sorted(pc.unique(scored["season"]).to_pylist()):
            part = scored.filter(pc.equal(scored["season"], period))
            folder = partition_path(ANOMALIES_PARTITIONS, (contract.name, str(period)))
            key = object_key(ANOMALIES_TABLE, folder, f"{source}-0.parquet")
            write_parquet(part, settings.refined_bucket, key, session)
            written.append(key)
    return written
