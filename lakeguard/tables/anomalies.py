"""The ``refined.anomalies`` table's shape: what the scorer writes and the catalog declares.

Defined with the other table specs rather than beside the scorer (:mod:`lakeguard.ml.anomalies`)
because the table layer, the stacks' IAM policies and the pipeline all name this table,
and none of them should import the numerical code of the models to do so.
"""

from __future__ import annotations

import pyarrow as pa

#: Name of the refined table of scored points (folder in the refined bucket, Glue table).
ANOMALIES_TABLE = "anomalies"

#: The ``refined.anomalies`` table: one row per scored point, whatever the dataset.
#: ``lower``/``upper`` are the expected range the point was judged against, ``score`` its
#: distance from the range's centre in half-widths, ``is_anomaly`` whether it lies outside,
#: ``alert`` whether it opens a new event (debounced), ``reason`` the sentence to show.
#: ``season`` is the period the point belongs to (the contract's ``model.period``).
ANOMALIES_SCHEMA = pa.schema(
    [
        pa.field("entity", pa.string(), nullable=False),
        pa.field("ts", pa.date32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("lower", pa.float64(), nullable=False),
        pa.field("upper", pa.float64(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("is_anomaly", pa.bool_(), nullable=False),
        pa.field("alert", pa.bool_(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detector", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("season", pa.string(), nullable=False),
    ]
)

ANOMALIES_PARTITIONS = ("dataset", "season")

#: Table properties the anomalies table is written with beyond every table's. Its files are
#: small (the scored points of one raw file and season: 760 rows for a Ligue 1 season) and
#: every analyst's query reads them again: zstd's strongest regular level (the codec stays
#: zstd, readers do not change) costs nothing measurable for a season's file (37 ms more for
#: 76,000 rows) and takes 3% off the bytes a query of one team's anomalies reads
#: (``bench/athena_scan.py``). The clean tables keep the default level: their files are
#: large, and Publish writes them inside a Lambda's time.
ANOMALIES_PROPERTIES = (("write.parquet.compression-level", "19"),)
