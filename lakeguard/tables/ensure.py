"""Create each table, or evolve it to its contract, in one code path for deploy and local.

A column added to a contract is added to the table as an optional column: no data file is
rewritten, and rows written before read it as null. A table's own properties (how its files
are written) are set on a deployed table that lacks them; files written before stay as they
are. Anything else (a dropped, renamed or retyped column, other partitions) would change
what published rows mean: it is refused, naming the table and the column, and
:func:`check_compatible` refuses it at synth already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from lakeguard.exceptions import ContractError
from lakeguard.tables.spec import Names, TableSpec

if TYPE_CHECKING:
    from pyiceberg.catalog.glue import GlueCatalog
    from pyiceberg.table import Table

#: Properties every table is created with. zstd Parquet (the Lambda runtime's pyarrow and
#: Glue 5's Spark both write it); old metadata files pruned after each commit, so a busy
#: table's metadata folder does not grow without bound (snapshots expire separately).
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "50",
    "commit.retry.num-retries": "8",
}


class SchemaChangeRefused(ContractError):
    """A contract change would drop or retype a column of a published table."""


def incompatibilities(table: str, current: list[tuple[str, str]],
                      wanted: list[tuple[str, str]]) -> list[str]:
    """Why ``wanted`` columns cannot replace ``current`` ones (empty: only additions)."""
    now, then = dict(wanted), dict(current)
    problems = [f"table {table}: column {name!r} would be dropped" for name in then
                if name not in now]
    problems += [f"table {table}: column {name!r} would change type from {then[name]} to "
                 f"{now[name]}" for name in then if name in now and now[name] != then[name]]
    return problems


def check_compatible(recorded: list[dict[str, object]], wanted: list[dict[str, object]]) -> None:
    """Refuse a dropped or retyped column, or changed partitions, against the recorded tables.

    ``recorded`` is what ``datasets/tables.lock.json`` says the deployed tables hold; new
    tables and new columns pass.
    """
    before = {(t["zone"], t["name"]): t for t in recorded}
    problems: list[str] = []
    for table in wanted:
        old = before.get((table["zone"], table["name"]))
        if old is None:
            continue
        name = f"{table['zone']}/{table['name']}"
        problems += incompatibilities(name, [tuple(c) for c in old["columns"]],  # type: ignore[attr-defined,misc]
                                      [tuple(c) for c in table["columns"]])  # type: ignore[attr-defined,misc]
        if old["partition_by"] != table["partition_by"]:
            problems.append(f"table {name}: partitions would change from {old['partition_by']} "
                            f"to {table['partition_by']}")
    if problems:
        raise SchemaChangeRefused(
            f"{'; '.join(problems)}: published rows would lose their meaning. Add a new "
            "column (or a new refined table) instead; only additions evolve a table")


def table_properties(spec: TableSpec) -> dict[str, str]:
    """The properties ``spec``'s table is created with: every table's, then its own."""
    return {**TABLE_PROPERTIES, **dict(spec.properties)}


def _create(catalog: GlueCatalog, spec: TableSpec, names: Names) -> Table:
    with catalog.create_table_transaction(spec.identifier(names), schema=spec.schema,
                                          location=spec.location(names),
                                          properties=table_properties(spec)) as tx:
        if spec.partition_by:
            with tx.update_spec() as update:
                for column in spec.partition_by:
                    update.add_identity(column)
        tx.set_properties(comment=spec.description)
    return catalog.load_table(spec.identifier(names))


#: Arrow types Iceberg reads back in their large form: the same Iceberg type either way.
_SAME = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}


def _arrow_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, str(_SAME.get(f.type, f.type))) for f in schema]


def _evolve(table: Table, spec: TableSpec) -> list[str]:
    """Add the spec's new columns and set its own properties on ``table``; say what was done."""
    current = table.schema().as_arrow()
    problems = incompatibilities(spec.key, _arrow_columns(current), _arrow_columns(spec.schema))
    partitions = tuple(f.name for f in table.spec().fields)
    if partitions != spec.partition_by:
        problems.append(f"table {spec.key}: partitions would change from {list(partitions)} "
                        f"to {list(spec.partition_by)}")
    if problems:
        raise SchemaChangeRefused("; ".join(problems))
    added = [f.name for f in spec.schema if f.name not in current.names]
    if added:
        with table.update_schema() as update:
            update.union_by_name(spec.schema)
    unset = {k: v for k, v in spec.properties if table.properties.get(k) != v}
    if unset:
        with table.transaction() as tx:
            tx.set_properties(unset)
    return [f"added {c}" for c in added] + [f"set {k}={v}" for k, v in unset.items()]


def ensure_tables(specs: tuple[TableSpec, ...], names: Names,
                  catalog: GlueCatalog | None = None) -> dict[str, list[str]]:
    """Create missing tables and add new columns; return what was done per table."""
    from pyiceberg.exceptions import NoSuchTableError

    from lakeguard.tables.catalog import glue_catalog

    catalog = catalog or glue_catalog()
    done: dict[str, list[str]] = {}
    for spec in specs:
        try:
            table = catalog.load_table(spec.identifier(names))
        except NoSuchTableError:
            _create(catalog, spec, names)
            done[spec.key] = ["created"]
            continue
        done[spec.key] = _evolve(table, spec)
    return done
