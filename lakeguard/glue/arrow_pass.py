"""The one pass of the Lambda path's Arrow functions over the raw rows, inside ``mapInArrow``.

Typing, the strict checks and the policies are run once per raw batch, and everything the
job needs from them comes out of that single pass, told apart by a tag column:

* ``row``: a clean row, pseudonymised columns still canonical (keyed next, natively,
  by :func:`lakeguard.glue.pseudonyms.key_natively`);
* ``error`` / ``warning``: one finding (column, rule, reason; never the value);
* ``sensitive``: one raw identifier of the batch, for the name redaction and the leak guard.

The job caches this frame and reads each part from the cache: the raw rows pay Python
serialisation and the Arrow functions once, where three separate passes (clean rows,
findings, raw identifiers) paid them three times.

What Spark computes natively instead: the pseudonyms (HMAC from ``sha2``), k-anonymity
(:func:`lakeguard.glue.anonymise_job._enforce_k`) and the refined tables. Typing, the
strict checks and the other policies stay here, because no Spark expression gives the
same rows and the same reasons:

* dates: Arrow's ``strptime`` reads ``2024-2-5`` and ``24-02-05`` (year 24, then refused
  as ``date.too_early`` with its own reason) and rolls ``2023-02-29`` over to 1 March
  (refused as ``date.impossible``); Spark's ``to_timestamp`` with ``yyyy-MM-dd`` returns
  null for all three, which would report them as ``type`` errors: the verdict would hold,
  the reason would not (``tests/spark/test_strict_parity.py`` compares both);
* free text: its fold is Unicode normalisation and accent removal (Spark has no
  normalisation function), phone numbers are confirmed by Google's ``phonenumbers``, and
  the identifier patterns are written for RE2 and run once per distinct value;
* NIRs: the check key is arithmetic Spark has, but each invalid NIR's reason
  (:func:`lakeguard.identifiers.nir.why_invalid`) and the canonical form are Python;
* the raw identifiers the leak guard and the name redaction look for are gathered by
  :mod:`lakeguard.identifiers.rawvalues`, whose word splitting is the leak guard's own.

Typing natively where Spark decides alike was built and measured (issue 20; commit
94dd8a7, reverted by the next): Spark SQL for the rows shown plain (Latin text, dates
``make_date`` accepts, plain decimals, NIR keys, Luhn, the generalisations, free text
redacted once per distinct text), this pass for the rest, identical row for row. It cost
16.5 s of CPU per 300,000 absences where this pass costs 4.2 s with its serialisation:
some 25 regular expressions per row, each on a Java copy of the value, against Arrow
kernels that type each column once per distinct value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from lakeguard.contracts.model import Contract
from lakeguard.privacy.policy import apply_policies
from lakeguard.tables.spec import clean_schema
from lakeguard.transforms.parse import Reject, type_batch

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TAG = "__lakeguard_part"
ROW, ERROR, WARNING, SENSITIVE = "row", "error", "warning", "sensitive"
#: What a finding says; ``first_of_row`` marks a row's first finding of its severity
#: (Spark does not know a row's place in the file, so rows are counted by these).
#: Prefixed, as every column of the pass but the clean ones: a clean column may be named
#: ``reason`` (absences' ICD chapter). :func:`findings` gives them their plain names.
FINDING_FIELDS = pa.schema([(f"__lakeguard_{name}", kind) for name, kind in (
    ("column", pa.string()), ("rule", pa.string()), ("reason", pa.string()),
    ("severity", pa.string()), ("first_of_row", pa.bool_()))])
VALUE = "__lakeguard_value"
#: Rows per batch Spark hands the Arrow functions (Spark's default: 10,000). Each batch
#: pays the functions' fixed cost (some 160 kernel calls, a dictionary per column); at
#: 50,000 rows the pass costs 3.1 s of CPU per 300,000 absences instead of 3.9 s, and a
#: batch of raw text stays a few MB.
BATCH_ROWS = 50_000


def batch_rows(spark: SparkSession) -> None:
    """Have Spark hand ``mapInArrow`` batches of :data:`BATCH_ROWS` rows in this session."""
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_ROWS))


def tagged_schema(contract: Contract) -> pa.Schema:
    """The pass's output: the tag, the clean columns, a finding's fields, a raw identifier."""
    fields = [pa.field(TAG, pa.string()), *[f.with_nullable(True) for f in clean_schema(contract)],
              *FINDING_FIELDS, pa.field(VALUE, pa.string())]
    return pa.schema(fields)


def _padded(schema: pa.Schema, tag: str | pa.Array, rows: int,
            columns: dict[str, pa.Array]) -> pa.RecordBatch:
    """A batch of ``schema`` holding ``columns`` and ``tag``, every other column null."""
    tags = pa.array([tag] * rows, pa.string()) if isinstance(tag, str) else tag
    arrays = [tags if f.name == TAG else columns[f.name] if f.name in columns
              else pa.nulls(rows, f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _findings(typed_rejects: list[Reject], policy_rejects: list[Reject],
              warnings: list[Reject]) -> dict[str, pa.Array]:
    found = [(r, ERROR) for r in typed_rejects + policy_rejects] + [(w, WARNING) for w in warnings]
    seen: set[tuple[str, int]] = set()
    first = []
    for finding, severity in found:
        first.append((severity, finding.row) not in seen)
        seen.add((severity, finding.row))
    plain = {"column": pa.array([f.column for f, _ in found], pa.string()),
             "rule": pa.array([f.rule for f, _ in found], pa.string()),
             "reason": pa.array([f.reason for f, _ in found], pa.string()),
             "severity": pa.array([s for _, s in found], pa.string()),
             "first_of_row": pa.array(first, pa.bool_())}
    return {f"__lakeguard_{name}": values for name, values in plain.items()}


def arrow_pass(raw: DataFrame, contract: Contract, today: date) -> DataFrame:
    """The tagged frame of :mod:`this module <lakeguard.glue.arrow_pass>` (not yet cached).

    ``today`` is the processing day, fixed on the driver so every batch checks dates
    against the same day.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = tagged_schema(contract)

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            typed = type_batch(batch, contract, 1, today)
            clean, more = apply_policies(typed.clean, contract, None, key_later=True)
            yield _padded(schema, ROW, clean.num_rows,
                          {name: clean.column(name) for name in clean.schema.names})
            findings = _findings(typed.rejects, more, typed.warnings)
            severities = findings["__lakeguard_severity"]
            if len(severities):
                yield _padded(schema, severities, len(severities), findings)
            if len(typed.sensitive):
                yield _padded(schema, SENSITIVE, len(typed.sensitive),
                              {VALUE: typed.sensitive.cast(pa.string())})

    return raw.mapInArrow(apply, from_arrow_schema(schema))


def findings(passed: DataFrame, severity: str) -> DataFrame:
    """The findings of one severity: ``column``, ``rule``, ``reason``, ``first_of_row``."""
    from pyspark.sql import functions as F

    return passed.filter(F.col(TAG) == severity).select(
        *[F.col(f"__lakeguard_{name}").alias(name)
          for name in ("column", "rule", "reason", "first_of_row")])


def clean_rows(passed: DataFrame, contract: Contract) -> DataFrame:
    """The clean rows, pseudonymised columns still canonical."""
    from pyspark.sql import functions as F

    return passed.filter(F.col(TAG) == ROW).select(
        *[F.col(f"`{name}`") for name in clean_schema(contract).names])


def sensitive_values(passed: DataFrame) -> pa.Array:
    """Distinct raw identifiers, tagged with their kind (as the Lambda path gathers them)."""
    from pyspark.sql import functions as F

    rows = passed.filter(F.col(TAG) == SENSITIVE).select(VALUE).distinct().collect()
    return pa.array([r[VALUE] for r in rows], pa.string())
