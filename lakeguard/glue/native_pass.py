"""Typing and the policies in Spark SQL for the rows Spark decides alike; the rest in Arrow.

:mod:`lakeguard.glue.arrow_pass` types every raw row in Python, which costs the rows'
serialisation into Arrow and back. Most rows are plain: every value in the one form its
type is written in, every check passed. For those a Spark expression gives exactly the
Arrow functions' result, and only those are typed here; a row that any column does not
show to be plain (a value with odd whitespace, a character outside Latin letters, a date
Spark's ``make_date`` refuses, a number out of bounds...) goes to the Arrow pass, which
types it and says why it was refused, as it always did. The Arrow functions are the
definition; this is their fast path for rows where nothing can go wrong, so a row is sent
to Arrow whenever a native form might differ (``tests/spark/test_native_pass.py`` holds
the two to every row, reject and reason).

What "plain" means, per column (a null is plain only in an optional string column):

* text: only printable ASCII and Latin letters (U+00C0-U+017F, less the seven that
  double as the continuation characters of mojibake), no space at either end, no null
  marker, no spreadsheet formula start: trimming, null markers, formula neutralising and
  the control, lost-character and mojibake checks then leave it as it is;
* a date in ``%Y-%m-%d``: ``YYYY-MM-DD`` that ``make_date`` accepts (a day that does not
  exist is null there, so it goes to Arrow for its ``date.impossible``) within every bound;
* a number: plain decimal digits within every bound (Java and Arrow both parse decimal
  text to the nearest double);
* a NIR: digits, ``2A``/``2B`` and single spaces whose shape and check key are right.

Policies: ``month``, ``age_band``, ``band_floor`` and ``departement`` generalise natively
(integer arithmetic and fixed prefixes), shapes are checked natively (patterns of plain
classes and counts, closed lists, Luhn), a NIR is pseudonymised by its canonical form
(keyed next, as the Arrow rows are). Free text is folded and redacted in Python, once per
distinct text on the driver, and joined back by value; a text holding a word of some
row's job title (or other row-scope identifier) goes to Arrow, where it is redacted with
its own row's words. A contract with a column or derivation this module has no native
form for is typed wholly in Arrow (:func:`supported`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import FIRST_GREGORIAN_YEAR, Column, Contract
from lakeguard.glue.arrow_pass import ROW, TAG, VALUES, arrow_pass, tagged_schema
from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.rawvalues import _TAG as KIND_TAG
from lakeguard.identifiers.words import candidate_words, holds_candidate
from lakeguard.privacy.detectors import redact_patterns

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession

#: Printable ASCII and the Latin letters of U+00C0-U+017F, less the continuation
#: characters of mojibake (U+0152, U+0153, U+0160, U+0161, U+0178, U+017D, U+017E): text
#: made of these holds no control, no lost character and no mojibake, has no whitespace
#: but the space, and folds as Arrow folds it.
_PLAIN_TEXT = (r"^[\x{20}-\x{7E}\x{C0}-\x{151}\x{154}-\x{15F}\x{162}-\x{177}"
               r"\x{179}-\x{17C}\x{17F}]+$")
_FORMULA_OR_EDGE_SPACE = r"^[=+\-@ ]| $"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_NUMBER = {"float": r"^[0-9]{1,9}(\.[0-9]{1,9})?$", "int": r"^[0-9]{1,15}$"}
_NIR_TEXT = r"^[0-9AB]+( [0-9AB]+)*$"
#: Shape patterns Java and RE2 read alike: classes of digits and letters with counts.
_PLAIN_PATTERN = re.compile(r"^(\[[0-9A-Za-z\-]+\](\{[0-9]+(,[0-9]*)?\})?)+$")
_DATE_POLICIES = {"drop", "keep"}
_GENERALISED = {"date": {"month", "age_band"}, "float": {"band_floor"},
                "int": {"band_floor"}, "string": {"departement"}}
_LA_POSTE = "356000000"


def supported(contract: Contract, header: list[str]) -> bool:
    """Whether every column and derivation of ``contract`` has a native form here."""
    return all(column.source in header and _column_supported(column)
               for column in contract.columns) and \
        all(d.function in ("days_between", "year") for d in contract.derived)


def _column_supported(column: Column) -> bool:
    if column.policy == "generalise":
        return column.generalise["to"] in _GENERALISED.get(column.type, set())
    if column.type == "nir":
        return column.policy in ("pseudonymise", "drop")
    if column.type == "date":
        return column.date_format == "%Y-%m-%d" and column.policy in _DATE_POLICIES
    if column.type in ("int", "float"):
        return column.policy in ("keep", "drop")
    if column.type == "string":
        shape = column.shape
        plain_shape = shape is None or shape.pattern is None or \
            _PLAIN_PATTERN.match(shape.pattern) is not None
        return column.policy in ("keep", "drop", "redact") and plain_shape and \
            (shape is None or shape.check in (None, "luhn"))
    return False


class _Row:
    """The native columns of one raw row: typed values, outputs, plainness, identifiers.

    ``staged`` holds the expressions worth computing once (a parsed date is read by its
    bounds, a generalisation and a derivation); ``typed`` refers to them by column.
    """

    def stage(self, name: str, expression: SparkColumn) -> SparkColumn:
        """``expression`` as a column of its own, computed once per row."""
        from pyspark.sql import functions as F

        self.staged[f"__staged_{name}"] = expression
        return F.col(f"`__staged_{name}`")

    def __init__(self) -> None:
        self.typed: dict[str, SparkColumn] = {}
        self.staged: dict[str, SparkColumn] = {}
        self.out: dict[str, SparkColumn] = {}
        self.plain: list[SparkColumn] = []
        self.identifiers: list[SparkColumn] = []


def native_pass(spark: SparkSession, raw: DataFrame, contract: Contract,
                today: date) -> DataFrame:
    """The tagged frame of :func:`~lakeguard.glue.arrow_pass.arrow_pass`, plain rows native.

    Plain rows come out as clean rows carrying their raw identifiers in the
    :data:`~lakeguard.glue.arrow_pass.VALUES` column; every other row goes through the
    Arrow pass unchanged. A contract :func:`supported` refuses goes wholly through Arrow.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_type

    if not supported(contract, raw.columns) or \
            spark.conf.get("spark.sql.ansi.enabled", "false") == "true":
        return arrow_pass(raw, contract, today)
    row = _Row()
    for column in contract.columns:
        _type(row, column, today)
    for column in contract.columns:
        _policy(row, column)
    for derived in contract.derived:
        row.out[derived.name] = _derive(row, derived.function, derived.source, derived.options)
    lookups = _free_text(spark, raw, contract, row)
    plain = F.lit(True)
    for condition in row.plain:
        plain = plain & F.coalesce(condition, F.lit(False))
    # the staged values, next to a nondeterministic column: Spark would otherwise push the
    # filter below this projection and spell every staged expression out wherever it is read
    frame = raw.select("*", *[e.alias(n) for n, e in row.staged.items()],
                       F.spark_partition_id().alias("__lakeguard_barrier"))
    for name, table in lookups.items():
        frame = frame.join(F.broadcast(table), frame[f"`{name}`"] == table["__text"], "left") \
            .withColumnRenamed("__redacted", f"__redacted_{name}") \
            .withColumnRenamed("__plain", f"__plain_{name}").drop("__text")
    flagged = frame.withColumn("__lakeguard_plain", plain)
    schema = tagged_schema(contract)

    identifiers = F.array_compact(F.array(*row.identifiers)) if row.identifiers \
        else F.array().cast("array<string>")
    columns = []
    for field in schema:
        kind = from_arrow_type(field.type)
        if field.name == TAG:
            columns.append(F.lit(ROW).alias(TAG))
        elif field.name in row.out:
            columns.append(row.out[field.name].cast(kind).alias(field.name))
        elif field.name == VALUES:
            columns.append(identifiers.alias(VALUES))
        else:
            columns.append(F.lit(None).cast(kind).alias(field.name))
    native = flagged.filter(F.col("__lakeguard_plain")).select(*columns)
    others = flagged.filter(~F.col("__lakeguard_plain")).select(*[f"`{c}`" for c in raw.columns])
    return native.unionByName(arrow_pass(others, contract, today))


def _text(row: _Row, column: Column) -> SparkColumn:
    """Plain text (see the module docstring): the typed value is the raw one."""
    from pyspark.sql import functions as F

    value = F.col(f"`{column.source}`")
    plain = value.rlike(_PLAIN_TEXT) & ~value.rlike(_FORMULA_OR_EDGE_SPACE) & \
        ~value.isin(*column.null_values)
    if column.normalise == "name":
        plain = plain & ~value.contains("  ")
    if column.required or column.type != "string":
        row.plain.append(plain)
    else:
        row.plain.append(value.isNull() | plain)
    return value


def _type(row: _Row, column: Column, today: date) -> None:
    from pyspark.sql import functions as F

    value = _text(row, column) if column.type == "string" else F.col(f"`{column.source}`")
    if column.type != "string":
        row.plain.append(~value.isin(*column.null_values))
    if column.type == "nir":
        canonical = row.stage(column.name, F.regexp_replace(value, " ", ""))
        body = F.regexp_replace(F.regexp_replace(F.substring(canonical, 1, 13), "2A", "19"),
                                "2B", "18").cast("long")
        row.plain.append(value.rlike(_NIR_TEXT) & canonical.rlike(_nir_shape())
                         & (F.lit(97) - F.pmod(body, F.lit(97))
                            == F.substring(canonical, 14, 2).cast("long")))
        row.typed[column.name] = canonical
        if _collected(column):
            row.identifiers += [_tagged(column, value), _tagged(column, canonical)]
        return
    if column.type == "date":
        typed = row.stage(column.name, F.when(
            value.rlike(_DATE), F.make_date(F.substring(value, 1, 4).cast("int"),
                                            F.substring(value, 6, 2).cast("int"),
                                            F.substring(value, 9, 2).cast("int"))))
        plain = typed.isNotNull() & _date_bounds(typed, column, today)
        row.plain.append(plain)
        row.typed[column.name] = typed
        if _collected(column):
            text = F.date_format(typed, "yyyyMMdd") if column.identifies == "birth_date" \
                else value
            row.identifiers.append(_tagged(column, text))
        return
    if column.type in ("int", "float"):
        typed = row.stage(column.name, F.when(value.rlike(_NUMBER[column.type]), value.cast(
            "long" if column.type == "int" else "double")))
        plain = typed.isNotNull()
        for bounds in column.bounds:
            if bounds.min is not None:
                plain = plain & (typed >= bounds.min)
            if bounds.max is not None:
                plain = plain & (typed <= bounds.max)
        row.plain.append(plain)
        row.typed[column.name] = typed
        return
    row.typed[column.name] = value
    if _collected(column):
        row.identifiers.append(_tagged(column, value))


def _nir_shape() -> str:
    from lakeguard.identifiers.nir import _VALID_SHAPE

    return _VALID_SHAPE


def _collected(column: Column) -> bool:
    """Whether the Arrow pass gathers this column's raw values for the leak guard."""
    return column.identifies is not None and column.scope == "object"


def _tagged(column: Column, value: SparkColumn) -> SparkColumn:
    from pyspark.sql import functions as F

    return F.concat(F.lit(f"{column.identifies}{KIND_TAG}"), value)


def _date_bounds(typed: SparkColumn, column: Column, today: date) -> SparkColumn:
    """Every bound of a date column holds (errors and warnings alike)."""
    from pyspark.sql import functions as F

    year = F.year(typed)
    within = year >= FIRST_GREGORIAN_YEAR
    for bounds in column.bounds:
        if bounds.min_year is not None:
            within = within & (year >= bounds.min_year)
        if bounds.max_year is not None:
            within = within & (year <= bounds.max_year)
        if bounds.max_days_ahead is not None:
            last = today + timedelta(days=bounds.max_days_ahead)
            within = within & (typed <= F.lit(last))
    return within


def _policy(row: _Row, column: Column) -> None:

    typed = row.typed[column.name]
    if column.policy == "drop":
        return
    target = column.output_names[0]
    if column.policy == "keep":
        if column.shape is not None:
            row.plain.append(_in_shape(typed, column))
        row.out[target] = typed
    elif column.policy == "pseudonymise":
        row.out[target] = typed  # a NIR's canonical form, keyed next
    elif column.policy == "redact":
        return  # by :func:`_free_text`, from its lookup table
    else:
        row.out[target] = _generalise(row, column, typed)


def _in_shape(text: SparkColumn, column: Column) -> SparkColumn:
    """The value lies in the column's declared shape (:func:`lakeguard.privacy.shapes.outside`)."""
    from pyspark.sql import functions as F

    shape = column.shape
    assert shape is not None
    ok = text.isNotNull()
    if shape.pattern is not None:
        ok = ok & text.rlike(f"^(?:{shape.pattern})$")
    if shape.values:
        ok = ok & text.isin(*shape.values)
    if shape.check == "luhn":
        digits = text.rlike(r"^[0-9]+$")
        places = F.transform(F.reverse(F.split(text, "")), lambda d, i: F.when(
            i % 2 == 1, F.when(d.cast("int") * 2 > 9, d.cast("int") * 2 - 9)
            .otherwise(d.cast("int") * 2)).otherwise(d.cast("int")))
        luhn = F.aggregate(places, F.lit(0), lambda acc, d: acc + d)
        plain_sum = F.aggregate(F.transform(F.split(text, ""), lambda d: d.cast("int")),
                                F.lit(0), lambda acc, d: acc + d)
        poste = text.startswith(_LA_POSTE) & (plain_sum % 5 == 0)
        ok = ok & digits & ((luhn % 10 == 0) | poste)
    return ok


def _generalise(row: _Row, column: Column, typed: SparkColumn) -> SparkColumn:
    """A native generalisation; the row is plain only where Arrow's would not fail."""
    from pyspark.sql import functions as F

    rule = column.generalise
    to = rule["to"]
    if to == "month":
        return F.trunc(typed, "month")
    if to == "age_band":
        at = row.typed[rule["at"]]
        width = int(rule.get("width", 5))
        before = (F.month(at) < F.month(typed)) | \
            ((F.month(at) == F.month(typed)) & (F.dayofmonth(at) < F.dayofmonth(typed)))
        age = F.year(at) - F.year(typed) - before.cast("int")
        row.plain.append((age >= 0) & (age <= 120))
        low = F.floor(age / width).cast("long") * width
        return F.concat(low.cast("string"), F.lit("-"), (low + width - 1).cast("string"))
    if to == "band_floor":
        edges = [float(e) for e in rule["edges"]]
        row.plain.append(typed >= edges[0])
        return _floor_to_band(typed, edges, column.type == "int")
    code = _departement(typed)
    row.plain.append(code.isNotNull())
    return code


def _floor_to_band(values: SparkColumn, edges: list[float], integer: bool) -> SparkColumn:
    """:func:`lakeguard.transforms.derive.floor_to_band`: the highest edge at or below."""
    from pyspark.sql import functions as F

    result = F.lit(None)
    for low in edges:
        edge = F.lit(int(low)) if integer else F.lit(low)
        result = F.when(values >= edge, edge).otherwise(result)
    return result


def _departement(text: SparkColumn) -> SparkColumn:
    """:func:`lakeguard.privacy.generalise.departement` on trimmed five-digit text."""
    from pyspark.sql import functions as F

    head2, head3 = F.substring(text, 1, 2), F.substring(text, 1, 3)
    return (F.when(~text.rlike(r"^[0-9]{5}$"), F.lit(None))
            .when(head2 == "00", F.lit(None))
            .when(head2 == "20", F.when(head3 < "202", "2A").otherwise("2B"))
            .when(head3.isin("971", "972", "973", "974", "975", "976"), head3)
            .when(head2 == "97", F.lit(None))
            .otherwise(head2))


def _derive(row: _Row, function: str, source: str, options: dict[str, object]) -> SparkColumn:
    """:func:`lakeguard.transforms.derive.derive` for ``days_between`` and ``year``."""
    from pyspark.sql import functions as F

    start = row.typed[source]
    if function == "year":
        return F.year(start).cast("string")
    days = (F.datediff(row.typed[str(options["other"])], start) + 1).cast("long")
    if "bands" not in options:
        return days
    bands = options["bands"]
    assert isinstance(bands, list)
    return _floor_to_band(days, [float(e) for e in bands], integer=True)


def _free_text(spark: SparkSession, raw: DataFrame, contract: Contract,
               row: _Row) -> dict[str, DataFrame]:
    """Each redacted column's distinct texts, redacted once on the driver: a lookup table.

    ``__text`` (the raw text), ``__redacted`` (folded, patterns replaced: what
    :func:`lakeguard.privacy.policy.redact_free_text` gives a text holding no word of a
    row-scope identifier) and ``__plain`` (it holds none of any row's words, so its own
    row's words cannot change it). A text not plain goes to Arrow.
    """
    from pyspark.sql import functions as F

    redacted = [c for c in contract.columns if c.policy == "redact"]
    if not redacted:
        return {}
    by_row = [c for c in contract.columns if c.scope == "row" and c.identifies is not None]
    sets = raw.agg(*[F.collect_set(f"`{c.source}`").alias(c.name)
                     for c in [*redacted, *by_row]]).collect()[0]
    words = candidate_words([pa.array(sets[c.name], pa.string()) for c in by_row])
    tables = {}
    for column in redacted:
        texts = pa.array(sets[column.name], pa.string())
        redacted_text = redact_patterns(fold(texts)) if len(texts) else texts
        touches = holds_candidate(redacted_text, words) if len(words) \
            else pa.repeat(False, len(texts))
        table = pa.table({"__text": texts, "__redacted": redacted_text,
                          "__plain": pc.invert(pc.fill_null(touches, True))})
        tables[column.source] = spark.createDataFrame(
            table.to_pandas(), "__text string, __redacted string, __plain boolean")
        row.plain.append(F.col(f"`{column.source}`").isNull()
                         | F.coalesce(F.col(f"`__plain_{column.source}`"), F.lit(False)))
        row.out[column.output_names[0]] = F.col(f"`__redacted_{column.source}`")
    return tables
