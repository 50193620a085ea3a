"""Athena SQL for analysts: through Athena in AWS, through DuckDB over an exported lake offline.

The SQL is written once, in Athena's dialect, against the logical database ``refined``;
``sqlglot`` translates it for DuckDB and renames ``refined`` to the environment's Glue
database for Athena.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from lakeguard.exceptions import QueryError

if TYPE_CHECKING:
    import boto3
    import pandas as pd

LOGICAL_DATABASE = "refined"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
OutputFormat = Literal["table", "csv", "json"]
#: Schema metadata key holding the bytes an Athena query scanned.
BYTES_SCANNED = "lakeguard.bytes_scanned"
#: Athena's price per TB scanned in most regions, and its minimum billed per query.
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BYTES = 10_000_000


def _syntax_error(err: sqlglot.errors.SqlglotError) -> str:
    """The complaint of sqlglot as an analyst reads it: where, near what, what is missing.

    Not sqlglot's own text: it carries terminal escapes and internal class names.
    """
    first: dict[str, Any] = err.errors[0] if isinstance(err, sqlglot.errors.ParseError) \
        and err.errors else {}
    where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
    near = f" near {first['highlight']!r}" if first.get("highlight") else ""
    what = str(first.get("description") or str(err).split("\n")[0])
    what = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", what)
    what = re.sub(r"Required keyword: '\w+' missing for (\w+)", r"incomplete \1 expression", what)
    what = re.sub(r"\.? Line \d+, Col: \d+\.?$", "", _ANSI.sub("", what))
    return f"not valid Athena SQL{where}{near}: {what}; check the query's syntax"


def _parse(sql: str) -> exp.Expression:
    try:
        parsed: exp.Expression = sqlglot.parse_one(sql, read="athena")  # type: ignore[assignment]
    except sqlglot.errors.SqlglotError as err:
        raise QueryError(_syntax_error(err)) from None
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
    parsed = _parse(sql)  # a syntax error is the first thing to say, whatever the folder
    tables = refined_tables(directory)
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


def read_athena(sql: str, *, workgroup: str, database: str,
                session: boto3.session.Session | None = None) -> pd.DataFrame:
    """Run Athena SQL (logical database ``refined``) and return typed rows: the notebook API.

    Through awswrangler's ``read_sql_query``, which reads Athena's result file with the
    column types Athena reports (timestamps, decimals, dates, booleans), in the workgroup's
    result location. ``frame.attrs["bytes_scanned"]`` is what Athena billed for.

        from lakeguard.query import read_athena
        frame = read_athena("SELECT * FROM refined.anomalies WHERE is_anomaly",
                            workgroup="lakeguard-dev", database="lakeguard_dev_refined")
    """
    import awswrangler as wr

    try:
        frame = wr.athena.read_sql_query(
            to_physical(sql, database), database=database, workgroup=workgroup,
            ctas_approach=False, boto3_session=session)
    except wr.exceptions.QueryFailed as err:
        raise QueryError(f"Athena could not run the query: {err}") from None
    metadata = getattr(frame, "query_metadata", None) or {}
    frame.attrs["bytes_scanned"] = int(metadata.get("Statistics", {}).get("DataScannedInBytes", 0))
    return frame


def query_athena(sql: str, *, workgroup: str, database: str,
                 session: boto3.session.Session | None = None) -> pa.Table:
    """:func:`read_athena` as Arrow, the bytes scanned in the schema (what the CLI prints)."""
    frame = read_athena(sql, workgroup=workgroup, database=database, session=session)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.replace_schema_metadata({BYTES_SCANNED: str(frame.attrs["bytes_scanned"])})


def bytes_scanned(table: pa.Table) -> int | None:
    """The bytes Athena scanned for ``table`` (None for a result that did not come from Athena)."""
    value = (table.schema.metadata or {}).get(BYTES_SCANNED.encode())
    return None if value is None else int(value)


def scan_note(scanned: int) -> str:
    """What a query scanned and roughly cost, e.g. ``scanned 12.3 MB: about $0.00006 ...``.

    Athena bills the bytes scanned, rounded up to 10 MB per query, at $5 per TB in most
    regions: the figure is an estimate to compare queries, not an invoice.
    """
    size = float(scanned)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            break
        size /= 1000
    cost = max(scanned, ATHENA_MIN_BYTES) / 1e12 * ATHENA_USD_PER_TB
    shown = f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
    return (f"scanned {shown}: about ${cost:.5f} at ${ATHENA_USD_PER_TB:g} per TB "
            "(Athena bills at least 10 MB per query)")


def _text(value: Any, full: bool = False) -> str:
    """A cell as text: floats at 4 significant digits in a table, at full precision in CSV."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if full else f"{value:.4g}"
    return str(value)


def _json_value(value: Any) -> Any:
    """A cell for JSON: numbers stay numbers (decimals too), NaN and infinities become null."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 \
            else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def format_result(table: pa.Table, fmt: OutputFormat = "table") -> str:
    """Render a result as an aligned text table, CSV or a JSON array of objects.

    CSV and JSON are for scripts, so they lose nothing: floats at full precision, numbers
    as JSON numbers. The table is for people: floats at 4 significant digits.
    """
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows],
                          default=str, allow_nan=False)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([[_text(r[c], full=True) for c in table.column_names] for r in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [[_text(r[c]) for c in table.column_names] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(table.column_names)]
    line = "  ".join(c.ljust(w) for c, w in zip(table.column_names, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join([line.rstrip(), rule, *body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])
