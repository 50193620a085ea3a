"""Anonymise on Spark: the Glue path for objects too large for the clean Lambda.

The very functions of the Lambda path run inside ``mapInArrow`` (typing and the strict
checks, NIR validation, policies and redaction, the name redaction, the leak guard's scan);
only what needs every row at once is Spark's own: the people and sensitive values of each
k-anonymity class (window aggregates) and the distinct raw identifiers to look for. Before
Spark reads the object, the Lambda path's CSV reader streams it once on the driver
(:mod:`lakeguard.glue.preflight`), so both paths refuse the same files with the same
reasons and Spark is checked to read the same rows. The job writes a JSON report the
``clean_report`` stage returns, and the clean rows onto the run's branch of the clean
Iceberg table (:mod:`lakeguard.glue.iceberg`), where the quality gate, the
refine job and Publish read them; nothing reaches ``main`` before Publish.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeguard.contracts import load_contract
from lakeguard.contracts.model import COUNT_CAP, Contract
from lakeguard.exceptions import ContractError, ValidationFailed
from lakeguard.glue.iceberg import write_run_branch
from lakeguard.glue.preflight import Preflight, preflight
from lakeguard.glue.pseudonyms import key_natively
from lakeguard.identifiers.rawvalues import RawValues
from lakeguard.pipeline.state import Clean
from lakeguard.privacy.anonymise import (
    check_reject_ratio,
    free_text_columns,
    pseudonym_columns,
    redact_names,
)
from lakeguard.privacy.leakguard import LeakDetected, scan
from lakeguard.privacy.policy import apply_policies
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.tables.branches import run_branch
from lakeguard.tables.spec import clean_schema
from lakeguard.transforms.checks import processing_day
from lakeguard.transforms.parse import Reject, type_batch

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_REJECTS_SHOWN = 20


def _anonymised(contract: Contract):  # type: ignore[no-untyped-def]
    """The policies in Arrow, pseudonymised columns left canonical for :func:`key_natively`."""
    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            clean, _ = apply_policies(type_batch(batch, contract, 1).clean, contract, None,
                                      key_later=True)
            yield clean
    return apply


#: One row per reject or warning: what the Lambda path's report lists, without row numbers
#: (Spark does not know a row's place in the file).
_FINDINGS = "column string, rule string, reason string, severity string, first_of_row boolean"


def _findings(contract: Contract):  # type: ignore[no-untyped-def]
    today = processing_day()

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            typed = type_batch(batch, contract, 1, today)
            _, more = apply_policies(typed.clean, contract, None, key_later=True)
            found = [(r, "error") for r in typed.rejects + more] + \
                [(w, "warning") for w in typed.warnings]
            seen: set[tuple[str, int]] = set()
            first = []
            for finding, severity in found:
                first.append((severity, finding.row) not in seen)
                seen.add((severity, finding.row))
            yield pa.RecordBatch.from_pydict({
                "column": pa.array([f.column for f, _ in found], pa.string()),
                "rule": pa.array([f.rule for f, _ in found], pa.string()),
                "reason": pa.array([f.reason for f, _ in found], pa.string()),
                "severity": pa.array([s for _, s in found], pa.string()),
                "first_of_row": pa.array(first, pa.bool_()),
            })
    return apply


def _sensitive_values(raw: DataFrame, contract: Contract) -> pa.Array:
    """Distinct raw identifiers, tagged with their kind (as the Lambda path gathers them)."""
    schema = pa.schema([pa.field(c.source, pa.string()) for c in contract.columns])

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            aligned = pa.RecordBatch.from_pydict({f.name: batch.column(f.name) if f.name in
                                                  batch.schema.names else
                                                  pa.nulls(batch.num_rows, pa.string())
                                                  for f in schema})
            values = type_batch(aligned, contract, 1).sensitive
            yield pa.RecordBatch.from_pydict({"value": values})
    rows = raw.mapInArrow(apply, "value string").distinct().collect()
    return pa.array([r["value"] for r in rows], pa.string())


def _enforce_k(clean: DataFrame, contract: Contract) -> tuple[DataFrame, dict[str, Any]]:
    """Keep the classes of at least k people and l sensitive values (as :mod:`kanon` does)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spec = contract.privacy
    quasi = list(spec.quasi_identifiers)
    if not quasi:
        return clean, {}
    window = Window.partitionBy(*[F.col(q) for q in quasi])
    size = F.size(F.collect_set(spec.subject).over(window)) if spec.subject \
        else F.count(F.lit(1)).over(window)
    sized = clean.withColumn("__class", size)
    keep = F.col("__class") >= spec.k
    if spec.sensitive:
        sized = sized.withColumn("__l", F.size(F.collect_set(
            F.coalesce(F.col(spec.sensitive).cast("string"), F.lit("\x00"))).over(window)))
        keep = keep & (F.col("__l") >= spec.l)
    else:
        sized = sized.withColumn("__l", F.lit(None).cast("int"))
    kept = sized.filter(keep)
    measured = kept.agg(F.min("__class"), F.min("__l"),
                        F.countDistinct(*[F.col(q) for q in quasi])).collect()[0]
    def counted(value: int | None) -> int | None:  # as the Lambda path counts (COUNT_CAP)
        return None if value is None else min(value, COUNT_CAP)

    outcome = {"k_required": spec.k,
               "k_achieved": counted(measured[0]) if spec.subject else measured[0],
               "l_required": spec.l if spec.sensitive else None,
               "l_achieved": counted(measured[1]) if spec.sensitive else None,
               "k_counted_in": "people" if spec.subject else "rows",
               "quasi_identifiers": quasi, "sensitive": spec.sensitive}
    return kept.drop("__class", "__l"), outcome


def _names_redacted(raw: RawValues, free_text: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield redact_names(batch, raw, free_text)
    return apply


def _leaks(kept: DataFrame, raw: RawValues, free_text: tuple[str, ...],
           skip: tuple[str, ...]) -> dict[str, Any]:
    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            hits = scan(pa.Table.from_batches([batch]), raw, free_text, skip).counts
            yield pa.RecordBatch.from_pydict({"hits": [json.dumps(hits)] if hits else []},
                                             schema=pa.schema([("hits", pa.string())]))
    found: dict[str, Any] = {}
    for row in kept.mapInArrow(apply, "hits string").collect():
        for column, counts in json.loads(row["hits"]).items():
            for name, count in counts.items():
                found.setdefault(column, {}).setdefault(name, 0)
                found[column][name] += count
    return found


#: Characters Hadoop reads as a glob in a path: a key holding them must be read literally.
_GLOB = re.compile(r"([\\*?\[\]{}])")


def read_raw(spark: SparkSession, path: str, contract: Contract, facts: Preflight) -> DataFrame:
    """Read the raw CSV as the Arrow reader did: same dialect, encoding, header and rows."""
    raw = (spark.read.option("header", True).option("sep", contract.raw.delimiter)
           .option("encoding", contract.raw.java_encoding).option("quote", '"')
           .option("escape", '"').option("multiLine", not facts.one_row_per_line)
           .option("inferSchema", False).option("mode", "PERMISSIVE")
           .csv(_GLOB.sub(r"\\\1", path)))
    if len(raw.columns) != len(facts.header):
        raise ValidationFailed(f"Spark's CSV reader found {len(raw.columns)} columns where the "
                               f"Arrow reader found {len(facts.header)}: the file is ambiguous CSV")
    return raw.toDF(*facts.header)


def run(spark: SparkSession, dataset: str | Contract, input_path: str, database: str,
        run_id: str, hmac_key: PseudonymKey | None,
        suppress_classes: bool | None = None) -> Clean:
    """Anonymise one raw object onto the run's branch of its clean table; return the report.

    The report is the Lambda Clean stage's result, rows on the branch instead of staged.

    ``dataset`` is a contract's name (the Glue job), or the contract itself (tests).
    ``suppress_classes`` (default: the contract's ``k_scope`` is ``object``) applies k and
    l here; otherwise Publish applies them over the published table, as on the Lambda path.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    contract = dataset if isinstance(dataset, Contract) else load_contract(dataset)
    if suppress_classes is None:
        suppress_classes = contract.privacy.k_scope == "object"
    facts = preflight(input_path, contract)
    raw = read_raw(spark, input_path, contract, facts)
    rows_in = raw.count()
    if rows_in != facts.rows:
        raise ValidationFailed(f"Spark's CSV reader found {rows_in} rows where the Arrow reader "
                               f"found {facts.rows}: the file is ambiguous CSV (a quote left "
                               "open?); nothing was written")
    pseudonyms = pseudonym_columns(contract)
    if pseudonyms and hmac_key is None:
        raise ContractError(f"{contract.path}: columns {', '.join(pseudonyms)} are pseudonymised "
                            "but the job has no pseudonymisation key (--secret_id)")
    canonical = raw.mapInArrow(_anonymised(contract), from_arrow_schema(clean_schema(contract)))
    clean = key_natively(spark, canonical, pseudonyms, hmac_key) if hmac_key else canonical
    findings = raw.mapInArrow(_findings(contract), _FINDINGS).cache()
    errors = findings.filter(F.col("severity") == "error")
    reasons = [Reject(0, r["column"], r["reason"], r["rule"])
               for r in errors.limit(_REJECTS_SHOWN).collect()]
    warnings = findings.filter(F.col("severity") == "warning")
    shown = [Reject(0, r["column"], r["reason"], r["rule"])
             for r in warnings.limit(_REJECTS_SHOWN).collect()]
    rows_warned = warnings.filter(F.col("first_of_row")).count()
    rows_typed = clean.count()
    check_reject_ratio(rows_in - rows_typed, rows_in, contract, reasons)
    if rows_typed == 0:
        raise ValidationFailed("the object has a header but no valid data rows")
    kept, outcome = _enforce_k(clean, contract) if suppress_classes else (clean, {})
    free_text = free_text_columns(contract)
    identifiers = RawValues.of(_sensitive_values(raw, contract))
    kept = kept.mapInArrow(_names_redacted(identifiers, free_text), kept.schema).cache()
    rows_out = kept.count()
    if rows_out == 0:
        raise ValidationFailed("no row is left once classes smaller than k are suppressed")
    leaks = _leaks(kept, identifiers, free_text, pseudonyms)
    if leaks:
        detail = "; ".join(f"column {c!r}: {', '.join(f'{k} x{v}' for k, v in f.items())}"
                           for c, f in leaks.items())
        raise LeakDetected(f"the output would carry identifiers ({detail}); nothing was written")
    write_run_branch(spark, kept, database, contract.name, run_id)
    return Clean(
        rows_in=rows_in, rows_out=rows_out, rows_rejected=rows_in - rows_typed,
        rows_suppressed=rows_typed - rows_out, rows_warned=rows_warned, **outcome,
        key_version=hmac_key.version_id if hmac_key else None, input_sha256=facts.sha256,
        rejects=[{"row": None, "column": r.column, "reason": r.reason, "rule": r.rule}
                 for r in reasons],
        warnings=[{"row": None, "column": w.column, "reason": w.reason, "rule": w.rule}
                  for w in shown],
        branch=run_branch(run_id))
