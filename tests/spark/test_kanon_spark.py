"""The Spark job's k-anonymity (aggregate per class, joined back) is the Lambda path's.

The rows kept, and k and l achieved, equal :class:`lakeguard.privacy.kanon.ClassCounter`'s
verdict, nulls included: a null quasi-identifier is a class value of its own, and a null
person or sensitive value counts as one value, on both paths.
"""

import random
from datetime import date

import pyarrow as pa
import pytest

from lakeguard.contracts import load_contract
from lakeguard.glue.anonymise_job import _enforce_k
from lakeguard.privacy.kanon import ClassCounter, suppress

pytestmark = pytest.mark.spark


def _clean(rows: int, seed: int) -> pa.Table:
    """Absences-shaped clean rows with few people per class and nulls in every key."""
    rng = random.Random(seed)

    def pick(values: list[object]) -> object:
        return rng.choice(values)

    return pa.table({
        "person_id": pa.array([pick([f"p{i}" for i in range(12)] + [None]) for _ in range(rows)]),
        "age_band": pa.array([pick(["30-39", "40-49", None]) for _ in range(rows)]),
        "departement": pa.array([pick(["69", "2A", None]) for _ in range(rows)]),
        "site": pa.array([pick(["Lyon Part-Dieu", "Nanterre Campus"]) for _ in range(rows)]),
        "month": pa.array([pick([date(2025, 1, 1), date(2025, 2, 1), None])
                           for _ in range(rows)], pa.date32()),
        "duration_days": pa.array([pick([1, 4, None]) for _ in range(rows)], pa.int64()),
        "reason": pa.array([pick(["I", "II", None]) for _ in range(rows)]),
        "n": pa.array(range(rows), pa.int64()),
    })


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spark_keeps_the_classes_the_lambda_path_keeps(spark, seed):
    # GIVEN clean rows where many classes hold fewer than k people or l reasons, with nulls
    contract = load_contract("absences")
    table = _clean(1500, seed)
    # WHEN both paths enforce k and l
    counter = ClassCounter(contract.privacy)
    for batch in table.to_batches(max_chunksize=400):
        counter.add(counter.measure(batch))
    verdict = counter.verdict()
    expected = suppress(table, contract.privacy.quasi_identifiers, verdict.small)
    frame = spark.createDataFrame(
        [tuple(row.values()) for row in table.to_pylist()],
        "person_id string, age_band string, departement string, site string, month date, "
        "duration_days bigint, reason string, n bigint")
    kept, outcome = _enforce_k(frame, contract)
    # THEN the same rows are kept, and the same k and l are reported
    assert sorted(r["n"] for r in kept.select("n").collect()) == expected["n"].to_pylist()
    assert 0 < expected.num_rows < table.num_rows
    assert (outcome["k_achieved"], outcome["l_achieved"]) == (verdict.k_achieved,
                                                                verdict.l_achieved)
