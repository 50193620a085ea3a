"""Anonymise on Spark: the Glue path for objects too large for the clean Lambda.

The very functions of the Lambda path run inside ``mapInArrow`` (typing and the strict
checks, NIR validation, policies and redaction, the name redaction, the leak guard's scan),
typing and policies in one pass (:mod:`lakeguard.glue.arrow_pass`); Spark's own are the
pseudonyms (HMAC from ``sha2``, :mod:`lakeguard.glue.pseudonyms`) and what needs every row
at once: the people and sensitive values of each k-anonymity class (window aggregates)
and the distinct raw identifiers to look for. Before
Spark reads the object, the Lambda path's CSV reader streams it once on the driver
(:mod:`lakeguard.glue.preflight`), so both paths refuse the same files with the same
reasons and Spark is checked to read the same rows. The job writes a JSON report the
``clean_report`` stage returns, and the clean rows onto the run's branch of the clean
Iceberg table (:mod:`lakeguard.glue.iceberg`), where the quality gate, the
refine job and Publish read them; nothing reaches ``main`` before Publish.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lakeguard.contracts import load_contract
from lakeguard.contracts.model import COUNT_CAP, Contract
from lakeguard.exceptions import ContractError, ValidationFailed
from lakeguard.glue.arrow_pass import (
    ERROR,
    WARNING,
    arrow_pass,
    batch_rows,
    clean_rows,
    findings,
    sensitive_values,
)
from lakeguard.glue.iceberg import write_run_branch
from lakeguard.glue.preflight import Preflight, preflight
from lakeguard.glue.pseudonyms import key_natively
from lakeguard.glue.release_pass import leaks, release_pass, released_rows
from lakeguard.identifiers.rawvalues import RawValues
from lakeguard.pipeline.state import Clean
from lakeguard.privacy.anonymise import (
    check_reject_ratio,
    free_text_columns,
    pseudonym_columns,
)
from lakeguard.privacy.leakguard import LeakDetected
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.tables.branches import run_branch
from lakeguard.transforms.checks import processing_day
from lakeguard.transforms.parse import Reject

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

_REJECTS_SHOWN = 20


def _enforce_k(clean: DataFrame, contract: Contract) -> tuple[DataFrame, dict[str, Any]]:
    """Keep the classes of at least k people and l sensitive values (as :mod:`kanon` does).

    Classes are measured with one aggregate per class and joined back to their rows
    (null-safe: a null quasi-identifier is a class of its own, as on the Lambda path), so
    the rows are shuffled once; a window holding each class's set of people on every row
    cost a sort of all rows and a set per row.
    """
    from pyspark.sql import functions as F

    spec = contract.privacy
    quasi = list(spec.quasi_identifiers)
    if not quasi:
        return clean, {}
    keys = [F.col(f"`{q}`").alias(f"__q{i}") for i, q in enumerate(quasi)]

    def distinct(column: str) -> Column:  # a null is a value of its own, as in kanon
        return F.countDistinct(F.coalesce(F.col(f"`{column}`").cast("string"), F.lit("\x00")))

    size = distinct(spec.subject) if spec.subject else F.count(F.lit(1))
    diversity = distinct(spec.sensitive) if spec.sensitive else F.lit(None).cast("long")
    classes = clean.groupBy(*keys).agg(size.alias("__class"), diversity.alias("__l"))
    keep = F.col("__class") >= spec.k
    if spec.sensitive:
        keep = keep & (F.col("__l") >= spec.l)
    large = classes.filter(keep).cache()
    measured = large.agg(F.min("__class"), F.min("__l")).collect()[0]
    same_class = [clean[f"`{q}`"].eqNullSafe(large[f"__q{i}"]) for i, q in enumerate(quasi)]
    kept = clean.join(large, same_class, "left_semi")

    def counted(value: int | None) -> int | None:  # as the Lambda path counts (COUNT_CAP)
        return None if value is None else min(value, COUNT_CAP)

    outcome = {"k_required": spec.k,
               "k_achieved": counted(measured[0]) if spec.subject else measured[0],
               "l_required": spec.l if spec.sensitive else None,
               "l_achieved": counted(measured[1]) if spec.sensitive else None,
               "k_counted_in": "people" if spec.subject else "rows",
               "quasi_identifiers": quasi, "sensitive": spec.sensitive}
    return kept, outcome


def cache_uncompressed(spark: SparkSession) -> None:
    """Cache the passes' outputs as they are, without compressing their columns.

    Each is cached only for the job's few actions (counts, findings, identifiers, the
    write) and dropped after: choosing and applying a codec per column cost more than the
    cache saved, 2.6-3.4 s more per 300,000 absences on 2 cores (the pass itself ~5-6 s).
    The price is memory: the first pass's cache holds about twice the raw CSV's size
    instead of 1.3 times (90 MB against 58 MB for 46 MB of absences), across the
    executors' storage, spilled to disk when short (``cache()`` is ``MEMORY_AND_DISK``).
    """
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")


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
    batch_rows(spark)  # for both Arrow passes
    cache_uncompressed(spark)
    passed = arrow_pass(raw, contract, processing_day()).cache()
    canonical = clean_rows(passed, contract)
    clean = key_natively(spark, canonical, pseudonyms, hmac_key) if hmac_key else canonical
    errors = findings(passed, ERROR)
    reasons = [Reject(0, r["column"], r["reason"], r["rule"])
               for r in errors.limit(_REJECTS_SHOWN).collect()]
    warnings = findings(passed, WARNING)
    shown = [Reject(0, r["column"], r["reason"], r["rule"])
             for r in warnings.limit(_REJECTS_SHOWN).collect()]
    rows_warned = warnings.filter(F.col("first_of_row")).count()
    rows_typed = clean.count()
    check_reject_ratio(rows_in - rows_typed, rows_in, contract, reasons)
    if rows_typed == 0:
        raise ValidationFailed("the object has a header but no valid data rows")
    # what k and l are counted over, as the Lambda path reports it whether it suppresses or not
    outcome: dict[str, Any] = {"quasi_identifiers": list(contract.privacy.quasi_identifiers),
                               "sensitive": contract.privacy.sensitive}
    kept = clean
    if suppress_classes:
        kept, measured = _enforce_k(clean, contract)
        outcome.update(measured)
    free_text = free_text_columns(contract)
    identifiers = RawValues.of(sensitive_values(passed))
    released = release_pass(kept, identifiers, free_text, pseudonyms).cache()
    kept = released_rows(released)
    rows_out = kept.count()
    passed.unpersist()  # everything after reads the redacted rows' own cache
    if rows_out == 0:
        raise ValidationFailed("no row is left once classes smaller than k are suppressed")
    found = leaks(released)
    if found:
        detail = "; ".join(f"column {c!r}: {', '.join(f'{k} x{v}' for k, v in f.items())}"
                           for c, f in found.items())
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
