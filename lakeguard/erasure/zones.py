"""Right to be forgotten: remove one data subject from every zone, and record that it was done.

The subject is given by their NIR as producers write it. They are found:

* in the clean table, by their pseudonym under *every* version of the key (a rotation
  does not hide older rows), and in other people's free text, by the words of their name
  read from their own raw rows: each affected raw key's rows are rewritten in one Iceberg
  commit, without the subject's rows and with their name replaced by ``[NAME]``;
* in the refined tables and anomalies derived from those keys, recomputed from what
  remains and re-scored with the current champions (:mod:`.in_tables`);
* in raw and quarantined object versions, by a text scan for the canonical NIR (folded,
  digits joined across separators), so files that never parsed are found too; those
  versions are deleted;
* in the ledger: the reasons of the deleted versions' entries are purged.

Then every snapshot but the current one is expired and the files that held the erased
rows are deleted, every S3 version of them: the rows are physically gone when the command
returns. ``dry_run`` computes all of this and changes nothing. The audit entry names the
pseudonyms and what was removed, never the identifier.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Column, Contract
from lakeguard.erasure.in_tables import erase_in_tables
from lakeguard.exceptions import ContractError
from lakeguard.identifiers import nir
from lakeguard.privacy.pseudonym import canonical_text
from lakeguard.privacy.subject import lines_holding, name_words, pseudonyms
from lakeguard.s3io import put_json

if TYPE_CHECKING:
    import boto3


@dataclass
class ErasureReport:
    """What an erasure removed, or would remove (counts and keys, no personal value)."""

    dataset: str
    pseudonym: str
    key_version: str
    dry_run: bool = False
    pseudonyms: dict[str, str] = field(default_factory=dict)
    clean_rows_removed: int = 0
    clean_rows_suppressed: int = 0
    free_text_cells_redacted: int = 0
    clean_objects: list[str] = field(default_factory=list)
    refined_objects: list[str] = field(default_factory=list)
    anomaly_objects: list[str] = field(default_factory=list)
    raw_versions_deleted: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    quarantine_objects_deleted: list[str] = field(default_factory=list)
    ledger_reasons_purged: list[str] = field(default_factory=list)
    audit: str = ""


def subject_column(contract: Contract) -> Column:
    """The pseudonymised column that identifies a data subject in this dataset."""
    subject = contract.privacy.subject
    for column in contract.columns:
        if subject is not None and subject in column.output_names:
            return column
    raise ContractError(f"{contract.path}: field 'privacy.subject' is not set; erasure needs the "
                        "pseudonymised column that identifies a person")


def _canonical(column: Column, value: str) -> str:
    array = pa.array([value])
    canon = nir.canonical(array) if column.type == "nir" else canonical_text(array)
    return str(canon[0].as_py())


def _versions(bucket: str, prefix: str,
              session: boto3.session.Session | None) -> list[tuple[str, str]]:
    s3 = client("s3", session)
    return [(v["Key"], v["VersionId"]) for page in s3.get_paginator("list_object_versions")
            .paginate(Bucket=bucket, Prefix=prefix) for v in page.get("Versions", [])]


def _read(bucket: str, key: str, version: str, session: boto3.session.Session | None) -> bytes:
    body: bytes = client("s3", session).get_object(Bucket=bucket, Key=key,
                                                   VersionId=version)["Body"].read()
    return body


def _holding(bucket: str, prefix: str, body13: str, contract: Contract,
             session: boto3.session.Session | None) -> tuple[list[tuple[str, str]], pa.Array]:
    """Object versions under ``prefix`` whose text holds the NIR, and their name words."""
    found, words = [], []
    for key, version in _versions(bucket, prefix, session):
        if key.endswith(".json"):
            continue
        body = _read(bucket, key, version, session)
        if pc.any(lines_holding(body, body13, contract.raw.encoding)).as_py():
            found.append((key, version))
            words.append(name_words(body, body13, contract))
    every = pc.unique(pa.concat_arrays(words)) if words else pa.array([], pa.string())
    return found, every


def _delete_versions(bucket: str, versions: list[tuple[str, str]], report: ErasureReport,
                     session: boto3.session.Session | None) -> list[str]:
    if not report.dry_run:
        s3 = client("s3", session)
        for key, version in versions:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    return [f"{key}#{version}" for key, version in versions]


def _purge_ledger(raw_bucket: str, versions: list[tuple[str, str]], stamp: str,
                  report: ErasureReport, settings: Settings,
                  session: boto3.session.Session | None) -> None:
    """Replace the reasons of the deleted versions' ledger entries by a pointer to the audit."""
    ddb = client("dynamodb", session)
    for key, version in versions:
        item_key = {"object": {"S": f"{raw_bucket}/{key}"}, "version_id": {"S": version}}
        item = ddb.get_item(TableName=settings.ledger_table, Key=item_key).get("Item")
        if item is None or "reason" not in item:
            continue
        report.ledger_reasons_purged.append(f"{key}#{version}")
        if not report.dry_run:
            ddb.update_item(TableName=settings.ledger_table, Key=item_key,
                            UpdateExpression="SET reason = :r",
                            ExpressionAttributeValues={":r": {"S": f"purged by erasure {stamp}"}})


def erase(dataset: str, subject: str, settings: Settings, secret_id: str,
          session: boto3.session.Session | None = None, dry_run: bool = False) -> ErasureReport:
    """Erase one data subject (``subject`` is their identifier as producers send it)."""
    contract = load_contract(dataset)
    column = subject_column(contract)
    canonical = _canonical(column, subject)
    every = pseudonyms(secret_id, canonical, session)
    current = client("secretsmanager", session).describe_secret(SecretId=secret_id)
    version = next((v for v, stages in current.get("VersionIdsToStages", {}).items()
                    if "AWSCURRENT" in stages), next(iter(every)))
    report = ErasureReport(dataset, every[version], version, dry_run, every)
    body13 = canonical[:13] if column.type == "nir" else canonical
    raw, words = _holding(settings.raw_bucket, contract.raw.prefix, body13, contract, session)
    quarantined, more = _holding(settings.quarantine_bucket, f"{contract.name}/", body13,
                                 contract, session)
    words = pc.unique(pa.concat_arrays([words, more]))
    changes = erase_in_tables(contract, column.output_names[0], list(every.values()), words,
                              settings, report.pseudonym[:12], dry_run)
    report.clean_rows_removed = changes.rows_removed
    report.clean_rows_suppressed = changes.rows_suppressed
    report.free_text_cells_redacted = changes.cells_redacted
    report.clean_objects, report.refined_objects = changes.clean_objects, changes.refined_objects
    report.anomaly_objects, report.purged = changes.anomaly_objects, changes.purged
    stamp = datetime.now(UTC)
    report.audit = f"audit/erasure/{dataset}/{stamp:%Y%m%dT%H%M%S}-{report.pseudonym[:12]}.json"
    _purge_ledger(settings.raw_bucket, raw, report.audit, report, settings, session)
    report.raw_versions_deleted = _delete_versions(settings.raw_bucket, raw, report, session)
    report.quarantine_objects_deleted = _delete_versions(settings.quarantine_bucket, quarantined,
                                                         report, session)
    if not dry_run:
        put_json({**asdict(report), "erased_at": stamp.isoformat()}, settings.artefacts_bucket,
                 report.audit, session)
    return report
