"""Clean -> refined transforms, selected by name in a contract's ``[[refined]]`` tables.

Each transform is a pure function over one Arrow record batch, the Lambda path's; the Glue
Spark job runs its Spark SQL twin (:mod:`lakeguard.glue.refine_job`), held to identical rows. Each also
declares its output schema, from which the CDK stack builds the Glue catalog table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Contract, RefinedTable
from lakeguard.exceptions import ContractError

TEAM_MATCHES_SCHEMA = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("team", pa.string(), nullable=False),
        pa.field("opponent", pa.string(), nullable=False),
        pa.field("home_away", pa.string(), nullable=False),
        pa.field("goals_for", pa.int64(), nullable=False),
        pa.field("goals_against", pa.int64(), nullable=False),
        pa.field("num_goals_net", pa.int64(), nullable=False),
        pa.field("season", pa.string(), nullable=False),
    ]
)


def team_perspective(batch: pa.RecordBatch, options: dict[str, Any]) -> pa.RecordBatch:
    """One row per team per match: a match seen from the home side, then from the away side.

    Net goals (for minus against) is the series the anomaly model watches per team.
    """
    home, away = batch.column(options["home"]), batch.column(options["away"])
    home_goals = batch.column(options["home_goals"])
    away_goals = batch.column(options["away_goals"])
    n = batch.num_rows

    def side(team: pa.Array, opponent: pa.Array, label: str, gf: pa.Array, ga: pa.Array) -> pa.Table:
        return pa.table(
            [batch.column("date"), team, opponent, pa.array([label] * n, pa.string()), gf, ga,
             pc.subtract(gf, ga), batch.column("season")],
            schema=TEAM_MATCHES_SCHEMA,
        )

    both = pa.concat_tables(
        [side(home, away, "home", home_goals, away_goals),
         side(away, home, "away", away_goals, home_goals)]
    ).combine_chunks()
    batches = both.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=TEAM_MATCHES_SCHEMA)


#: Joins the keys of a ``segment`` column: departement 75, reason XIX -> ``75 / XIX``.
SEGMENT_SEPARATOR = " / "


def _people(options: dict[str, Any]) -> list[tuple[str, str]]:
    """The distinct-people count a table's cells are judged by, when it names ``people``."""
    return [(options["people"], "count_distinct")] if "people" in options else []


def _large_enough(grouped: pa.Table, options: dict[str, Any]) -> pa.Array:
    """Cells holding at least ``min_count`` people (``people`` given) or rows (otherwise).

    Five absences of one person are one person: counting rows would publish their
    diagnosis chapter in a cell that looks safe.
    """
    counted = grouped[f"{options['people']}_count_distinct"] if "people" in options \
        else grouped["count_all"]
    return pc.greater_equal(counted, int(options["min_count"]))


def monthly_counts_schema(options: dict[str, Any]) -> pa.Schema:
    """Output of :func:`monthly_counts`: the keys, the month, the count, the measure, the year."""
    segment = [pa.field(options["segment"], pa.string())] if "segment" in options else []
    return pa.schema(
        [pa.field(k, pa.string()) for k in options["keys"]] + segment
        + [pa.field(options["time"], pa.date32()), pa.field("absences", pa.int64()),
           pa.field(options["measure"], pa.float64()), pa.field("year", pa.string())]
    )


def monthly_counts(table: pa.Table, options: dict[str, Any]) -> pa.Table:
    """Count rows and sum a measure per keys and month; suppress cells under ``min_count``.

    With a ``people`` option (the subject column) a cell is kept only when it holds
    ``min_count`` distinct people. Small cells are removed, as statistical offices do,
    because a count of 1 or 2 in a departement and month can point at a person even
    without identifiers. With a
    ``segment`` option the keys are also joined into one column, so a detector can watch
    each departement and reason as one series.
    """
    keys, time, measure = list(options["keys"]), options["time"], options["measure"]
    grouped = table.group_by([*keys, time], use_threads=False).aggregate(
        [([], "count_all"), (measure, "sum"), *_people(options)])
    grouped = grouped.filter(_large_enough(grouped, options))
    columns = {k: pc.cast(grouped[k], pa.string()) for k in keys}
    if "segment" in options:
        columns[options["segment"]] = pc.binary_join_element_wise(
            *(columns[k] for k in keys), SEGMENT_SEPARATOR)
    columns[time] = grouped[time]
    columns["absences"] = grouped["count_all"]
    columns[measure] = pc.round(pc.cast(grouped[f"{measure}_sum"], pa.float64()), 2)
    columns["year"] = pc.cast(pc.year(grouped[time]), pa.string())
    result = pa.table(columns, schema=monthly_counts_schema(options))
    return result.sort_by([(time, "ascending"), *((k, "ascending") for k in keys)])


def category_counts_schema(options: dict[str, Any]) -> pa.Schema:
    """Output of :func:`category_counts`: the keys, the count, the summed measure."""
    return pa.schema([pa.field(k, pa.string()) for k in options["keys"]]
                     + [pa.field(options["count_as"], pa.int64()),
                        pa.field(options["measure"], pa.float64())])


def category_counts(table: pa.Table, options: dict[str, Any]) -> pa.Table:
    """Count rows and sum a measure per category; suppress cells under ``min_count``."""
    keys, measure = list(options["keys"]), options["measure"]
    grouped = table.group_by(keys, use_threads=False).aggregate(
        [([], "count_all"), (measure, "sum"), *_people(options)])
    grouped = grouped.filter(_large_enough(grouped, options))
    columns = {k: pc.cast(grouped[k], pa.string()) for k in keys}
    columns[options["count_as"]] = grouped["count_all"]
    columns[measure] = pc.round(pc.cast(grouped[f"{measure}_sum"], pa.float64()), 2)
    result = pa.table(columns, schema=category_counts_schema(options))
    return result.sort_by([(k, "ascending") for k in keys])


@dataclass(frozen=True)
class RefineTransform:
    """A named refine transform and the schema of what it produces.

    Row-wise transforms (``rows``) run per batch, in Spark as their twin's projections;
    aggregates (``table``) need the whole object and run in Spark as a group-by.
    """

    schema: Callable[[dict[str, Any]], pa.Schema]
    rows: Callable[[pa.RecordBatch, dict[str, Any]], pa.RecordBatch] | None = None
    table: Callable[[pa.Table, dict[str, Any]], pa.Table] | None = None


TRANSFORMS: dict[str, RefineTransform] = {
    "team_perspective": RefineTransform(schema=lambda _: TEAM_MATCHES_SCHEMA,
                                        rows=team_perspective),
    "monthly_counts": RefineTransform(schema=monthly_counts_schema, table=monthly_counts),
    "category_counts": RefineTransform(schema=category_counts_schema, table=category_counts),
}


def transform_for(table: RefinedTable, contract: Contract) -> RefineTransform:
    """Return the transform a refined table names, or fail naming the contract field."""
    try:
        return TRANSFORMS[table.transform]
    except KeyError as err:
        raise ContractError(
            f"{contract.path}: field 'refined.transform' of table {table.table!r}: unknown "
            f"transform {table.transform!r}; known: {', '.join(sorted(TRANSFORMS))}"
        ) from err


def output_schema(table: RefinedTable, contract: Contract) -> pa.Schema:
    """Schema of a refined table (partition columns included)."""
    return transform_for(table, contract).schema(table.options)


def refine_batch(batch: pa.RecordBatch, table: RefinedTable, contract: Contract) -> pa.RecordBatch:
    """Apply a row-wise refined table's transform to one clean batch."""
    transform = transform_for(table, contract)
    assert transform.rows is not None, f"{table.transform} is an aggregate, not row-wise"
    return transform.rows(batch, table.options)


def refine_table(clean: pa.Table, table: RefinedTable, contract: Contract) -> pa.Table:
    """Apply a refined table's transform to a whole clean table (the Lambda/Arrow path)."""
    transform = transform_for(table, contract)
    if transform.table is not None:
        return transform.table(clean, table.options)
    assert transform.rows is not None
    batches = [transform.rows(b, table.options) for b in clean.to_batches()]
    return pa.Table.from_batches(batches, schema=output_schema(table, contract))
