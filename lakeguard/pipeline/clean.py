"""Clean stage (Lambda path): raw object -> typed clean Parquet, staged per partition.

The object is streamed batch by batch through the parser; each partition's rows go to
their own Parquet writer, so memory holds one batch, not the file.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.layout import partition_path, staging_prefix
from lakeguard.s3io import PARQUET_COMPRESSION, read_bytes
from lakeguard.transforms.parse import ParseReport, parse_object

#: Rejects listed in the stage result (and so in the quarantine report) at most.
_REJECTS_SHOWN = 20


def _partitions(batch: pa.RecordBatch, names: tuple[str, ...]) -> dict[tuple[str, ...], pa.RecordBatch]:
    """Split a batch by the values of its partition columns."""
    if not names:
        return {(): batch}
    keys = pa.table({n: pc.cast(batch.column(n), pa.string()) for n in names})
    distinct = keys.group_by(list(names)).aggregate([]).to_pylist()
    out = {}
    for row in distinct:
        mask = None
        for name in names:
            cond = pc.equal(keys[name], row[name])
            mask = cond if mask is None else pc.and_(mask, cond)
        out[tuple(str(row[n]) for n in names)] = batch.filter(mask)
    return out


def check_rejects(report: ParseReport, contract: Contract) -> None:
    """Fail the object when rows were rejected: they are reported, never dropped silently."""
    if not report.rejects:
        return
    shown = "; ".join(f"row {r.row} column {r.column!r}: {r.reason}" for r in report.rejects[:5])
    raise ValidationFailed(
        f"{report.rows_rejected} of {report.rows_in} rows break contract {contract.path}: {shown}"
    )


def clean(
    state: dict[str, Any], settings: Settings, session: boto3.session.Session | None = None
) -> dict[str, Any]:
    """Parse, type and apply the column policy; stage one Parquet object per partition."""
    ref = ObjectRef.from_state(state)
    contract = load_contract(state["validation"]["dataset"])
    data = read_bytes(ref.bucket, ref.key, ref.version_id, session)
    report = ParseReport()
    sinks: dict[tuple[str, ...], tuple[io.BytesIO, pq.ParquetWriter]] = {}
    for batch in parse_object(data, contract, report):
        for values, rows in _partitions(batch, contract.partition_by).items():
            if values not in sinks:
                buffer = io.BytesIO()
                sinks[values] = (buffer, pq.ParquetWriter(buffer, rows.schema,
                                                          compression=PARQUET_COMPRESSION))
            sinks[values][1].write_batch(rows)
    check_rejects(report, contract)
    if report.rows_out == 0:
        raise ValidationFailed(f"s3://{ref.bucket}/{ref.key} has a header but no data rows")
    s3 = client("s3", session)
    outputs = []
    for values, (buffer, writer) in sorted(sinks.items()):
        writer.close()
        key = (f"{staging_prefix(ref.run_id)}{contract.name}/"
               f"{partition_path(contract.partition_by, values)}/part-0.parquet")
        s3.put_object(Bucket=settings.clean_bucket, Key=key, Body=buffer.getvalue())
        outputs.append(f"s3://{settings.clean_bucket}/{key}")
    return {
        "outputs": outputs,
        "rows_in": report.rows_in,
        "rows_out": report.rows_out,
        "rows_rejected": report.rows_rejected,
        "partitions": [partition_path(contract.partition_by, v) for v in sorted(sinks)],
        "rejects": json.loads(json.dumps([r.__dict__ for r in report.rejects[:_REJECTS_SHOWN]])),
    }
