"""Read a model version's exact training rows back, by the snapshots its lineage names.

Train records the snapshot of the model table it read history from (without the rows of
the run's own raw key) and the run whose rows it added; once that run is published its
rows live in the run's commit. Both are Iceberg snapshots, so the same rows come back
however many versions were published since, and their digest is checked against the one
the model was fitted on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import ModelSpec
from lakeguard.exceptions import ModelError
from lakeguard.ml.anomalies import entity_series
from lakeguard.ml.lineage import series_digest
from lakeguard.tables.commit import RUN_PROPERTY
from lakeguard.tables.expressions import equal, not_equal
from lakeguard.tables.spec import RUN_COLUMN, SOURCE_COLUMN

if TYPE_CHECKING:
    from pyiceberg.table import Table


def _commit_of(table: Table, run_id: str) -> int:
    """The snapshot a run committed to ``table`` (anywhere in its history, not only main's)."""
    for snapshot in table.metadata.snapshots:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        if summary.get(RUN_PROPERTY) == run_id:
            return snapshot.snapshot_id
    raise ModelError(f"run {run_id} has no commit in {'.'.join(table.name())}: it was never "
                     "published, or its snapshot expired; the model's input cannot be read back")


def training_rows(lineage: dict[str, Any], spec: ModelSpec, schema: pa.Schema,
                  load: Callable[[str], Table]) -> tuple[pa.Table, dict[str, Any]]:
    """The rows a model version was fitted on, and whether their digest matches its record.

    ``load`` opens a table by ``zone/name`` (the catalog, or an export).
    """
    from pyiceberg.expressions import AlwaysTrue

    training = lineage.get("training", {})
    inputs = training.get("inputs")
    if not inputs or not inputs.get("table"):
        raise ModelError(f"model version {lineage.get('version')} records no input snapshot")
    table = load(f"refined/{inputs['table'].split('.', 1)[1]}")
    parts, snapshots = [], []
    if inputs.get("snapshot_id"):
        without = inputs.get("without_source_key_id")
        where = not_equal(SOURCE_COLUMN, without) if without else AlwaysTrue()
        parts.append(table.scan(snapshot_id=int(inputs["snapshot_id"]), row_filter=where).to_arrow())
        snapshots.append(int(inputs["snapshot_id"]))
    if inputs.get("run_id"):
        committed = _commit_of(table, inputs["run_id"])
        parts.append(table.scan(snapshot_id=committed,
                                row_filter=equal(RUN_COLUMN, inputs["run_id"])).to_arrow())
        snapshots.append(committed)
    rows = pa.concat_tables([p.select(schema.names).cast(schema) for p in parts]) if parts \
        else schema.empty_table()
    if inputs.get("to"):
        rows = rows.filter(pc.less_equal(pc.cast(rows[spec.time], pa.string()), inputs["to"]))
    series = entity_series(rows, spec, lineage["entity"]).slice(0, int(training.get("rows", 0)))
    digest = series_digest([str(t) for t in series[spec.time].to_pylist()],
                           [str(v) for v in series[spec.value].to_pylist()])
    return series, {"snapshots": [str(s) for s in snapshots], "rows": series.num_rows,
                    "digest_matches": digest == training.get("digest")}
