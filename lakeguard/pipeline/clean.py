"""Clean stage (Lambda path): raw object -> anonymised, typed Parquet, staged per partition.

Nothing is written unless every privacy guarantee held (see
:mod:`lakeguard.privacy.anonymise`); the stage result carries the counts and the key
version for the audit record, never a value.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import ENV_PSEUDONYM_SECRET, Settings
from lakeguard.contracts import load_contract
from lakeguard.exceptions import ContractError
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.layout import object_key, partition_path, staging_prefix
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey, load_key
from lakeguard.s3io import read_bytes, write_parquet

#: Rejects listed in the stage result (and so in the quarantine report) at most.
_REJECTS_SHOWN = 20


def split_partitions(table: pa.Table, names: tuple[str, ...]) -> dict[tuple[str, ...], pa.Table]:
    """Split a table by the values of its partition columns."""
    if not names:
        return {(): table}
    keys = pa.table({n: pc.cast(table[n], pa.string()) for n in names})
    out = {}
    for row in keys.group_by(list(names)).aggregate([]).to_pylist():
        mask = None
        for name in names:
            cond = pc.equal(keys[name], row[name])
            mask = cond if mask is None else pc.and_(mask, cond)
        out[tuple(str(row[n]) for n in names)] = table.filter(mask)
    return out


def pseudonym_key(needed: bool, session: boto3.session.Session | None) -> PseudonymKey | None:
    """The current pseudonymisation key, when the contract pseudonymises anything."""
    if not needed:
        return None
    secret = os.environ.get(ENV_PSEUDONYM_SECRET)
    if not secret:
        raise ContractError(f"the contract pseudonymises columns but {ENV_PSEUDONYM_SECRET} is "
                            "not set; only the clean stage's role may read the key")
    return load_key(secret, session=session)


def clean(
    state: dict[str, Any], settings: Settings, session: boto3.session.Session | None = None
) -> dict[str, Any]:
    """Anonymise the object and stage one Parquet object per partition."""
    ref = ObjectRef.from_state(state)
    contract = load_contract(state["validation"]["dataset"])
    data = read_bytes(ref.bucket, ref.key, ref.version_id, session)
    table, report = anonymise(data, contract, pseudonym_key(contract.needs_key, session))
    outputs = []
    partitions = split_partitions(table, contract.partition_by)
    for values, rows in sorted(partitions.items()):
        key = object_key(f"{staging_prefix(ref.run_id)}{contract.name}",
                         partition_path(contract.partition_by, values), "part-0.parquet")
        outputs.append(write_parquet(rows, settings.clean_bucket, key, session))
    return {
        "outputs": outputs,
        "rows_in": report.rows_in,
        "rows_out": report.rows_out,
        "rows_rejected": report.rows_rejected,
        "rows_suppressed": report.rows_suppressed,
        "k_required": report.k_required,
        "k_achieved": report.k_achieved,
        "key_version": report.key_version,
        "input_sha256": hashlib.sha256(data).hexdigest(),
        "partitions": [partition_path(contract.partition_by, v) for v in sorted(partitions)],
        "rejects": [r.__dict__ for r in report.rejects[:_REJECTS_SHOWN]],
    }
