"""Right to be forgotten: remove one data subject from every zone, and record that it was done.

The subject is found by pseudonymising their identifier with the current key: clean rows
carrying that pseudonym are deleted (partitions rewritten), refined tables derived from the
affected objects are recomputed from the rewritten clean data, and raw and quarantined
object versions that hold the identifier are deleted. The audit entry names the pseudonym
and what was removed, never the identifier itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Column, Contract
from lakeguard.exceptions import ContractError
from lakeguard.pipeline.clean import split_partitions
from lakeguard.pipeline.layout import is_from_source, object_key, partition_path
from lakeguard.privacy import nir
from lakeguard.privacy.pseudonym import canonical_text, load_key
from lakeguard.s3io import delete_keys, list_keys, put_json, read_parquet, write_parquet
from lakeguard.transforms.parse import ParseReport, parse_object
from lakeguard.transforms.refine import refine_table

if TYPE_CHECKING:
    import boto3


@dataclass
class ErasureReport:
    """What an erasure removed (counts and keys, no personal value)."""

    dataset: str
    pseudonym: str
    key_version: str
    clean_rows_removed: int = 0
    clean_objects: list[str] = field(default_factory=list)
    refined_objects: list[str] = field(default_factory=list)
    raw_versions_deleted: list[str] = field(default_factory=list)
    quarantine_objects_deleted: list[str] = field(default_factory=list)
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


def _holds_subject(data: bytes, contract: Contract, column: Column, canonical: str) -> bool:
    """Whether a raw object holds the subject's identifier (in any of its typings)."""
    for batch in parse_object(data, contract, ParseReport()):
        values = batch.column(column.name)
        if column.type != "nir":
            values = canonical_text(values)
        if pc.any(pc.equal(values, canonical)).as_py():
            return True
    return False


def _erase_clean(contract: Contract, column_name: str, pseudonym: str, settings: Settings,
                 report: ErasureReport, session: boto3.session.Session | None) -> set[str]:
    """Rewrite clean objects without the subject's rows; return the affected source ids."""
    affected = set()
    for key in list_keys(settings.clean_bucket, f"{contract.name}/", session):
        table = read_parquet([f"s3://{settings.clean_bucket}/{key}"], session)
        hit = pc.equal(table[column_name], pseudonym)
        removed = int(pc.sum(hit).as_py() or 0)
        if not removed:
            continue
        remaining = table.filter(pc.invert(hit))
        if remaining.num_rows:
            write_parquet(remaining, settings.clean_bucket, key, session)
        else:
            delete_keys(settings.clean_bucket, [key], session)
        report.clean_rows_removed += removed
        report.clean_objects.append(key)
        affected.add(posixpath.basename(key).split("-", 1)[0])
    return affected


def _recompute_refined(contract: Contract, sources: set[str], settings: Settings,
                       report: ErasureReport, session: boto3.session.Session | None) -> None:
    """Rebuild the refined objects of the affected sources from their rewritten clean data."""
    clean_keys = list_keys(settings.clean_bucket, f"{contract.name}/", session)
    for source in sorted(sources):
        uris = [f"s3://{settings.clean_bucket}/{k}" for k in clean_keys if is_from_source(k, source)]
        clean = read_parquet(uris, session)
        for table in contract.refined:
            old = [k for k in list_keys(settings.refined_bucket, f"{table.table}/", session)
                   if is_from_source(k, source)]
            delete_keys(settings.refined_bucket, old, session)
            if not clean.num_rows:
                continue
            refined = refine_table(clean, table, contract)
            for values, rows in split_partitions(refined, table.partition_by).items():
                key = object_key(table.table, partition_path(table.partition_by, values),
                                 f"{source}-0.parquet")
                write_parquet(rows.drop_columns(list(table.partition_by)), settings.refined_bucket,
                              key, session)
                report.refined_objects.append(key)


def _erase_objects(bucket: str, prefix: str, contract: Contract, column: Column, canonical: str,
                   session: boto3.session.Session | None) -> list[str]:
    """Delete every object version under ``prefix`` that holds the subject's identifier."""
    s3 = client("s3", session)
    deleted = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            if version["Key"].endswith(".json"):
                continue
            body = s3.get_object(Bucket=bucket, Key=version["Key"],
                                 VersionId=version["VersionId"])["Body"].read()
            try:
                holds = _holds_subject(body, contract, column, canonical)
            except Exception:
                holds = True
            if holds:
                s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
                deleted.append(f"{version['Key']}#{version['VersionId']}")
    return deleted


def erase(dataset: str, subject: str, settings: Settings, secret_id: str,
          session: boto3.session.Session | None = None) -> ErasureReport:
    """Erase one data subject (``subject`` is their identifier as producers send it)."""
    contract = load_contract(dataset)
    column = subject_column(contract)
    key = load_key(secret_id, session=session)
    canonical = _canonical(column, subject)
    pseudonym = str(key.pseudonymise(pa.array([canonical]))[0].as_py())
    report = ErasureReport(dataset, pseudonym, key.version_id)
    sources = _erase_clean(contract, column.output_names[0], pseudonym, settings, report, session)
    _recompute_refined(contract, sources, settings, report, session)
    report.raw_versions_deleted = _erase_objects(settings.raw_bucket, contract.raw.prefix,
                                                 contract, column, canonical, session)
    report.quarantine_objects_deleted = _erase_objects(settings.quarantine_bucket,
                                                       f"{contract.name}/", contract, column,
                                                       canonical, session)
    stamp = datetime.now(UTC)
    report.audit = f"audit/erasure/{dataset}/{stamp:%Y%m%dT%H%M%S}-{pseudonym[:12]}.json"
    put_json({**asdict(report), "erased_at": stamp.isoformat()}, settings.artefacts_bucket,
             report.audit, session)
    return report

