"""What the lake's tables are, derived from the contracts.

One clean table per contract, one refined table per refined table of every contract,
plus ``anomalies``.

The same specs create the tables at deploy time (the custom resource), in the embedded
lake, and name them in IAM policies, so the catalog never drifts from the contracts.
Every table carries two lineage columns: ``source_key_id`` (the digest of the raw key the
row came from: a later version of that key replaces exactly these rows) and ``run_id``
(the execution, hence the raw object version, that wrote it: what ``ledger check`` proves
against the ledger). Neither names a person: the key is hashed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache

import pyarrow as pa

from lakeguard.contracts import list_contracts, load_contract
from lakeguard.contracts.model import Contract
from lakeguard.tables.anomalies import (
    ANOMALIES_PARTITIONS,
    ANOMALIES_PROPERTIES,
    ANOMALIES_SCHEMA,
    ANOMALIES_TABLE,
)
from lakeguard.transforms.refine import output_schema

SOURCE_COLUMN = "source_key_id"
RUN_COLUMN = "run_id"
LINEAGE = pa.schema([pa.field(SOURCE_COLUMN, pa.string()), pa.field(RUN_COLUMN, pa.string())])
CLEAN, REFINED = "clean", "refined"


@dataclass(frozen=True)
class Names:
    """Where a deployment keeps its tables: the Glue databases and the zone buckets."""

    clean_database: str
    refined_database: str
    clean_bucket: str
    refined_bucket: str

    def database(self, zone: str) -> str:
        """The Glue database of a zone."""
        return self.clean_database if zone == CLEAN else self.refined_database

    def bucket(self, zone: str) -> str:
        """The bucket of a zone."""
        return self.clean_bucket if zone == CLEAN else self.refined_bucket


@dataclass(frozen=True)
class TableSpec:
    """One Iceberg table: zone, name, columns (lineage last) and identity partitions.

    ``properties`` are the table's own Iceberg properties, on top of those every table gets
    (:data:`lakeguard.tables.ensure.TABLE_PROPERTIES`): set when the table is created, and
    set again on a deployed table that lacks them.
    """

    zone: str
    name: str
    schema: pa.Schema
    partition_by: tuple[str, ...]
    description: str
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """``zone/name``: how ledger outputs and seams name the table."""
        return f"{self.zone}/{self.name}"

    def location(self, names: Names) -> str:
        """The table's folder: ``s3://<zone bucket>/<name>``."""
        return f"s3://{names.bucket(self.zone)}/{self.name}"

    def identifier(self, names: Names) -> tuple[str, str]:
        """(Glue database, table name)."""
        return names.database(self.zone), self.name


def _plain(schema: pa.Schema) -> pa.Schema:
    """Every column optional: new columns can only be optional, and old rows read null."""
    return pa.schema([pa.field(f.name, f.type) for f in schema])


def clean_schema(contract: Contract) -> pa.Schema:
    """Columns of a contract's clean rows, found by cleaning an empty batch.

    The pseudonymisation key is not needed for that: a pseudonym is a string whatever the key.
    """
    from lakeguard.privacy.policy import apply_policies
    from lakeguard.transforms.parse import type_batch

    empty = pa.RecordBatch.from_pydict({c.source: pa.array([], pa.string())
                                        for c in contract.columns})
    typed = type_batch(empty, contract, 1).clean
    clean, _ = apply_policies(typed, contract, None, key_later=True)  # a pseudonym is a string
    return clean.schema


def contract_tables(contract: Contract) -> list[TableSpec]:
    """The clean table and the refined tables of one contract."""
    lineage = list(LINEAGE)
    specs = [TableSpec(CLEAN, contract.name,
                       _plain(pa.schema([*clean_schema(contract), *lineage])),
                       contract.partition_by, contract.description)]
    for table in contract.refined:
        specs.append(TableSpec(REFINED, table.table,
                               _plain(pa.schema([*output_schema(table, contract), *lineage])),
                               table.partition_by, table.description))
    return specs


ANOMALIES = TableSpec(REFINED, ANOMALIES_TABLE,
                      _plain(pa.schema([*ANOMALIES_SCHEMA, *LINEAGE])), ANOMALIES_PARTITIONS,
                      "One row per scored point: value, normal band, score, model.",
                      ANOMALIES_PROPERTIES)


@cache
def all_tables() -> tuple[TableSpec, ...]:
    """Every table of the lake, clean first, from every shipped contract."""
    specs = [s for name in list_contracts() for s in contract_tables(load_contract(name))]
    return (*sorted(specs, key=lambda s: (s.zone != CLEAN, s.name)), ANOMALIES)


def run_tables(contract: Contract) -> list[TableSpec]:
    """The tables one run of a contract commits, in commit order (clean first)."""
    return [*contract_tables(contract), *([ANOMALIES] if contract.model else [])]


def find(zone: str, name: str) -> TableSpec:
    """The spec of a table, or a KeyError naming the known ones."""
    for spec in all_tables():
        if spec.zone == zone and spec.name == name:
            return spec
    known = ", ".join(s.key for s in all_tables())
    raise KeyError(f"no table {zone}/{name}; the contracts define {known}")


def describe(specs: tuple[TableSpec, ...]) -> list[dict[str, object]]:
    """Plain JSON of the specs: columns and types, partitions (what schema evolution compares)."""
    return [{"zone": s.zone, "name": s.name, "partition_by": list(s.partition_by),
             "columns": [[f.name, str(f.type)] for f in s.schema]} for s in specs]


def digest(specs: tuple[TableSpec, ...]) -> str:
    """Digest of the specs and their own properties: the custom resource's property.

    So a contract change, or a table's new property, updates the deployed tables.
    """
    described = [{**d, "properties": dict(s.properties)}
                 for d, s in zip(describe(specs), specs, strict=True)]
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
