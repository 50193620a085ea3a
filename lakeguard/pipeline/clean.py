"""Clean stage (Lambda path): raw object -> anonymised, typed Parquet, staged per partition.

The object is streamed from S3 once (see :mod:`lakeguard.privacy.anonymise`) and
written to local files, so memory holds a batch, not the object. Nothing is uploaded
unless every privacy guarantee held; the stage result carries the counts and the key
version for the audit record, never a value.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakeguard.aws import client
from lakeguard.config import ENV_PSEUDONYM_SECRET, Settings
from lakeguard.contracts import load_contract
from lakeguard.exceptions import ContractError
from lakeguard.layout import object_key, partition_path
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.handoff import staged_prefix
from lakeguard.pipeline.state import Clean, dataset_of
from lakeguard.privacy.anonymise import anonymise_stream
from lakeguard.privacy.pseudonym import PseudonymKey, load_key
from lakeguard.s3io import PARQUET_COMPRESSION, HashingStream, split_partitions, upload_path
from lakeguard.scratchspace import scratch_space

if TYPE_CHECKING:
    import boto3

#: Rejects (and warnings) listed in the stage result, and so in the quarantine report, at most.
_REJECTS_SHOWN = 20


def pseudonym_key(needed: bool, session: boto3.session.Session | None) -> PseudonymKey | None:
    """The current pseudonymisation key, when the contract pseudonymises anything."""
    if not needed:
        return None
    secret = os.environ.get(ENV_PSEUDONYM_SECRET)
    if not secret:
        raise ContractError(f"the contract pseudonymises columns but {ENV_PSEUDONYM_SECRET} is "
                            "not set; only the clean stage's role may read the key")
    return load_key(secret, session=session)


class PartitionWriter:
    """Write clean batches to one local Parquet file per partition, then upload them.

    Files go to local disk (Lambda's /tmp) so memory holds one batch; nothing is uploaded
    until the whole object passed every check.
    """

    def __init__(self, folder: Path, partition_by: tuple[str, ...]) -> None:
        self.folder, self.partition_by = folder, partition_by
        self.writers: dict[tuple[str, ...], pq.ParquetWriter] = {}

    def write(self, batch: pa.RecordBatch) -> None:
        """Append a batch's rows to their partitions' files."""
        for values, rows in split_partitions(pa.Table.from_batches([batch]),
                                             self.partition_by).items():
            if not rows.num_rows:
                continue
            if values not in self.writers:
                path = self.folder / f"part-{len(self.writers)}.parquet"
                self.writers[values] = pq.ParquetWriter(path, rows.schema,
                                                        compression=PARQUET_COMPRESSION)
            self.writers[values].write_table(rows)

    def upload(self, bucket: str, prefix: str,
               session: boto3.session.Session | None) -> list[str]:
        """Close the files and upload each to ``prefix/<partition>/part-0.parquet``."""
        s3, outputs = client("s3", session), []
        for values, writer in sorted(self.writers.items()):
            writer.close()
            s3_key = object_key(prefix, partition_path(self.partition_by, values),
                                "part-0.parquet")
            upload_path(s3, writer.where, bucket, s3_key)
            outputs.append(f"s3://{bucket}/{s3_key}")
        return outputs


def _open(ref: ObjectRef, session: boto3.session.Session | None) -> Any:
    """A streaming body of the raw object version."""
    extra = {"VersionId": ref.version_id} if ref.version_id else {}
    return client("s3", session).get_object(Bucket=ref.bucket, Key=ref.key, **extra)["Body"]


def clean(
    state: dict[str, Any], settings: Settings, session: boto3.session.Session | None = None
) -> Clean:
    """Anonymise the object, streamed, and stage one Parquet object per partition."""
    ref = ObjectRef.from_state(state)
    contract = load_contract(dataset_of(state))
    hmac_key = pseudonym_key(contract.needs_key, session)
    with tempfile.TemporaryDirectory(prefix="lakeguard-clean-") as folder:
        writer = PartitionWriter(Path(folder), contract.partition_by)
        raw: Any = HashingStream(_open(ref, session))  # the input digest, taken as parsed
        # classes counted over the published table are judged at Publish (tables.tablek)
        with scratch_space("the object's anonymised rows"):
            report = anonymise_stream(raw, contract, hmac_key, writer.write,
                                      suppress_classes=contract.privacy.k_scope == "object")
            prefix = staged_prefix(ref.run_id, contract.name)
            outputs = writer.upload(settings.clean_bucket, prefix, session)
        partitions = [partition_path(contract.partition_by, v) for v in sorted(writer.writers)]
    return Clean(
        outputs=outputs, rows_in=report.rows_in, rows_out=report.rows_out,
        rows_rejected=report.rows_rejected, rows_suppressed=report.rows_suppressed,
        rows_warned=report.rows_warned, k_required=report.k_required,
        k_achieved=report.k_achieved, k_counted_in=report.k_counted_in,
        quasi_identifiers=list(contract.privacy.quasi_identifiers),
        sensitive=contract.privacy.sensitive, l_required=report.l_required,
        l_achieved=report.l_achieved, key_version=report.key_version,
        input_sha256=raw.digest.hexdigest(), partitions=[p for p in partitions if p],
        rejects=[r.__dict__ for r in report.rejects[:_REJECTS_SHOWN]],
        warnings=[w.__dict__ for w in report.warnings[:_REJECTS_SHOWN]])
