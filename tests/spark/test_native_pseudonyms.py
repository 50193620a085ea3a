"""Pseudonyms computed by Spark's own SHA-256 are the Lambda path's HMACs, and the key
never shows in a plan Spark prints or logs."""

import base64

import pyarrow as pa
import pytest

from lakeguard.glue.pseudonyms import key_natively
from lakeguard.privacy.pseudonym import PseudonymKey

pytestmark = pytest.mark.spark
KEY = PseudonymKey("test", b"a long enough secret for the test, " * 3)  # > one block: hashed
VALUES = ["1850312345678", "jean dupont", "", "élodie ñúñez 😀", None]


def test_spark_sha2_gives_the_hmac_pseudonyms_and_keeps_nulls(spark):
    frame = spark.createDataFrame([(v, i) for i, v in enumerate(VALUES)], "id string, n int")
    keyed = key_natively(spark, frame, ("id",), KEY).orderBy("n")
    assert keyed.columns == ["id", "n"]
    expected = KEY.pseudonymise(pa.array(VALUES, pa.string())).to_pylist()
    assert [row["id"] for row in keyed.collect()] == expected
    assert expected[-1] is None and len(set(expected[:-1])) == 4


def test_the_key_pads_are_not_in_the_plan(spark):
    frame = spark.createDataFrame([("x",)], "id string")
    keyed = key_natively(spark, frame, ("id",), KEY)
    plan = keyed._jdf.queryExecution().toString()  # what explain() and the Spark UI show
    assert "sha2" in plan.lower()
    for pad in KEY.key_pads():
        for shown in (pad.hex(), pad.hex().upper(), base64.b64encode(pad).decode(),
                      str(list(pad))[1:40], repr(pad)[2:40]):
            assert shown not in plan
