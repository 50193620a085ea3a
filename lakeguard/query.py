"""Athena SQL for analysts: through Athena in AWS, through DuckDB over an exported lake offline.

The SQL is written once, in Athena's dialect, against the logical database ``refined``;
``sqlglot`` translates it for DuckDB and renames ``refined`` to the environment's Glue
database for Athena.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from lakeguard.aws import client
from lakeguard.exceptions import QueryError

if TYPE_CHECKING:
    import boto3

LOGICAL_DATABASE = "refined"
OutputFormat = Literal["table", "csv", "json"]


def _parse(sql: str) -> exp.Expression:
    try:
        parsed: exp.Expression = sqlglot.parse_one(sql, read="athena")  # type: ignore[assignment]
    except sqlglot.errors.ParseError as err:
        raise QueryError(f"not valid Athena SQL: {err}") from err
    if parsed is None:
        raise QueryError("empty query")
    return parsed


def refined_tables(directory: Path) -> dict[str, list[str]]:
    """Refined tables of an exported lake and the data files of their exported snapshot."""
    from lakeguard.tables.export import current_files, exported_table, read_catalog

    if not (directory / "refined").is_dir():
        raise QueryError(
            f"{directory} has no refined zone ({directory / 'refined'} is missing): run "
            "`lakeguard demo` or `lakeguard local run --dataset NAME FILE... --export DIR` first"
        )
    catalog = read_catalog(directory)
    return {name.split("/", 1)[1]: current_files(exported_table(directory, name, catalog))
            for name in sorted(catalog["tables"]) if name.startswith("refined/")}


def query_local(directory: Path, sql: str) -> pa.Table:
    """Answer Athena SQL from an exported lake with DuckDB; tables live in schema ``refined``.

    Each table is the data files of its current Iceberg snapshot, read by DuckDB's own
    Parquet reader (no extension download); the writes are copy-on-write, so no delete
    file has to be applied on top.
    """
    tables = refined_tables(directory)
    parsed = _parse(sql)
    for table in parsed.find_all(exp.Table):
        if table.db == LOGICAL_DATABASE and table.name not in tables:
            raise QueryError(f"no refined table {table.name!r} in {directory}; known: "
                             f"{', '.join(sorted(tables)) or 'none'}")
    connection = duckdb.connect()
    try:
        connection.execute(f"CREATE SCHEMA {LOGICAL_DATABASE}")
        for name, files in tables.items():
            if not files:
                continue
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            connection.execute(f'CREATE VIEW {LOGICAL_DATABASE}."{name}" AS SELECT * FROM '
                               f"read_parquet([{listed}], union_by_name = true)")
        try:
            return connection.sql(parsed.sql(dialect="duckdb")).to_arrow_table()
        except duckdb.Error as err:
            raise QueryError(f"query failed: {err}") from err
    finally:
        connection.close()


def to_physical(sql: str, database: str) -> str:
    """Rewrite the logical ``refined.`` qualifier to the environment's Glue database."""
    parsed = _parse(sql)
    for table in parsed.find_all(exp.Table):
        if table.db == LOGICAL_DATABASE:
            table.set("db", exp.to_identifier(database))
    return parsed.sql(dialect="athena")


_ATHENA_TYPES: dict[str, Callable[[str], Any]] = {
                 "bigint": int, "integer": int, "int": int, "smallint": int, "tinyint": int,
                 "double": float, "float": float, "real": float,
                 "boolean": lambda v: v.lower() == "true",
                 "date": date.fromisoformat}


def query_athena(
    sql: str, *, workgroup: str, database: str, session: boto3.session.Session | None = None,
    poll_seconds: float = 1.0, timeout_seconds: float = 300.0,
) -> pa.Table:
    """Run Athena SQL in a workgroup and return the result as Arrow."""
    athena = client("athena", session)
    started = athena.start_query_execution(
        QueryString=to_physical(sql, database), WorkGroup=workgroup,
        QueryExecutionContext={"Database": database},
    )
    query_id = started["QueryExecutionId"]
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if time.monotonic() > deadline:
            raise QueryError(f"Athena query {query_id} still running after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)
    if status["State"] != "SUCCEEDED":
        raise QueryError(f"Athena query {query_id} {status['State']}: "
                         f"{status.get('StateChangeReason', 'no reason given')}")
    names: list[str] = []
    types: list[str] = []
    rows: list[list[Any]] = []
    first = True
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result_set = page["ResultSet"]
        if not names:
            columns = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            names = [c["Name"] for c in columns]
            types = [c["Type"].lower() for c in columns]
        page_rows = result_set.get("Rows", [])
        if first and page_rows:
            page_rows = page_rows[1:]  # the header row
            first = False
        for row in page_rows:
            values = [cell.get("VarCharValue") for cell in row["Data"]]
            rows.append([None if v is None else _ATHENA_TYPES.get(t, str)(v)
                         for v, t in zip(values, types, strict=False)])
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_result(table: pa.Table, fmt: OutputFormat = "table") -> str:
    """Render a result as an aligned text table, CSV or a JSON array of objects."""
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps(rows, default=lambda v: v.isoformat()
                          if isinstance(v, date | datetime) else str(v), indent=None)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([[_text(r[c]) for c in table.column_names] for r in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [[_text(r[c]) for c in table.column_names] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(table.column_names)]
    line = "  ".join(c.ljust(w) for c, w in zip(table.column_names, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join([line.rstrip(), rule, *body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])
