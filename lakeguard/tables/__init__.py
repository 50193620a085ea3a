"""The lake's Apache Iceberg tables: clean and refined zones, in the Glue Data Catalog.

Specs come from the contracts (:mod:`.spec`); :func:`ensure_tables` creates and evolves
them; :func:`replace_rows` is the one commit a run makes per table; readers scan the
current snapshot (or an older one, by id) through pyiceberg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeguard.tables.commit import Source, replace_rows, revert_run, run_snapshot, visible_runs
from lakeguard.tables.ensure import SchemaChangeRefused, ensure_tables
from lakeguard.tables.spec import (
    CLEAN,
    REFINED,
    RUN_COLUMN,
    SOURCE_COLUMN,
    Names,
    TableSpec,
    all_tables,
    find,
    run_tables,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

    from lakeguard.config import Settings

__all__ = ["CLEAN", "REFINED", "RUN_COLUMN", "SOURCE_COLUMN", "Names", "SchemaChangeRefused",
           "Source", "TableSpec", "all_tables", "ensure_tables", "find", "load_table",
           "names_of", "read_table", "replace_rows", "revert_run", "run_snapshot", "run_tables",
           "visible_runs"]


def names_of(settings: Settings) -> Names:
    """The databases and buckets of a deployment."""
    return Names(settings.clean_database, settings.glue_database, settings.clean_bucket,
                 settings.refined_bucket)


def load_table(settings: Settings, zone: str, name: str) -> Table:
    """The current state of one table, from the Glue catalog."""
    from lakeguard.tables.catalog import glue_catalog

    return glue_catalog().load_table(find(zone, name).identifier(names_of(settings)))


def read_table(settings: Settings, zone: str, name: str, row_filter: Any = None,
               snapshot_id: int | None = None) -> pa.Table:
    """Rows of a table as readers see them now, or as of ``snapshot_id`` (time travel)."""
    from pyiceberg.expressions import AlwaysTrue

    table = load_table(settings, zone, name)
    if snapshot_id is None and table.current_snapshot() is None:
        return table.schema().as_arrow().empty_table()
    return table.scan(row_filter=row_filter if row_filter is not None else AlwaysTrue(),
                      snapshot_id=snapshot_id).to_arrow()
