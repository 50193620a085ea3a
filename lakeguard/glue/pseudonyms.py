"""Keyed pseudonyms in Spark SQL: HMAC-SHA256 as two native SHA-256 calls, no Python per row.

``sha256(outer_pad + sha256(inner_pad + value))`` is HMAC-SHA256 (RFC 2104), so Spark's
``sha2`` gives exactly the pseudonyms of :meth:`PseudonymKey.pseudonymise` on the Lambda
path (``tests/spark/test_anonymise_spark.py`` compares them). The pads are as secret as
the key: they reach the executors as a one-row broadcast table, never as literals, which
Spark would print in every plan it logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakeguard.privacy.pseudonym import PSEUDONYM_LENGTH, PseudonymKey

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_INNER, _OUTER = "__lakeguard_inner_pad", "__lakeguard_outer_pad"


def key_natively(spark: SparkSession, frame: DataFrame, columns: tuple[str, ...],
                 key: PseudonymKey) -> DataFrame:
    """``frame`` with each of ``columns`` (canonical values) replaced by its pseudonym.

    Nulls stay null. Apply it straight after the step that left the canonical values
    (``apply_policies(..., key_later=True)``), before anything caches or writes them.
    """
    from pyspark.sql import functions as F

    if not columns:
        return frame
    inner, outer = key.key_pads()
    pads = spark.createDataFrame([(bytearray(inner), bytearray(outer))],
                                 f"{_INNER} binary, {_OUTER} binary")
    keyed = frame.crossJoin(F.broadcast(pads))
    for name in columns:
        value = F.encode(F.col(f"`{name}`"), "UTF-8")
        inner_digest = F.unhex(F.sha2(F.concat(F.col(_INNER), value), 256))
        pseudonym = F.substring(F.sha2(F.concat(F.col(_OUTER), inner_digest), 256), 1,
                                PSEUDONYM_LENGTH)
        keyed = keyed.withColumn(name, pseudonym)
    return keyed.drop(_INNER, _OUTER)
