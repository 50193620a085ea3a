"""Re-score the anomalies of a raw key an erasure changed, with the current champions.

An anomaly says that a series (departement and ICD chapter, say) was unusual in a month:
computed with a person's absences, it still carries them after their rows are gone. The
key's refined rows of the model's table (already recomputed) are scored again, entity by
entity, with each entity's champion, as the pipeline's Score stage does; entities without
a champion get no anomaly, as there.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import Settings
from lakeguard.contracts.model import Contract
from lakeguard.ml import detectors, registry
from lakeguard.ml.anomalies import entity_series, score_entity
from lakeguard.ml.store import S3Store
from lakeguard.tables import REFINED, RUN_COLUMN, SOURCE_COLUMN, load_table
from lakeguard.tables.expressions import equal


def rescored(contract: Contract, settings: Settings, source: str) -> pa.Table:
    """Anomaly rows of ``source``'s points, scored now (no lineage columns)."""
    spec = contract.model
    assert spec is not None, "only datasets with a model have anomalies"
    table = load_table(settings, REFINED, spec.table)
    current = table.scan(row_filter=equal(SOURCE_COLUMN, source)).to_arrow()
    current = current.drop_columns([c for c in (SOURCE_COLUMN, RUN_COLUMN)
                                    if c in current.column_names])
    store = S3Store(settings.artefacts_bucket)
    scored = []
    for entity in sorted(str(e) for e in pc.unique(current[spec.entity]).to_pylist()):
        champion = registry.resolve(store, contract.name, entity, registry.CHAMPION)
        if champion is None:
            continue
        model = detectors.load(champion.detector, champion.model)
        scored.append(score_entity(entity_series(current, spec, entity), spec, entity, model,
                                   champion.version, contract.name))
    anomalies = load_table(settings, REFINED, "anomalies").schema().as_arrow()
    if not scored:
        return anomalies.empty_table().drop_columns([SOURCE_COLUMN, RUN_COLUMN])
    return pa.concat_tables(scored)
