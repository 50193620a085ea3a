"""Right to be forgotten: remove one data subject from every zone, and record that it was done.

The subject is found by pseudonymising their identifier with the current key: their clean
rows are deleted from the clean table (a row-level delete: Iceberg rewrites the files that
held them), the refined rows derived from the affected raw keys are recomputed from what
remains (one commit per table, replacing those keys' rows), and raw and quarantined object
versions that hold the identifier are deleted. Then every snapshot but the current one is
expired and the files that held the erased rows are deleted, every S3 version of them:
the rows are physically gone when the command returns. The audit entry names the pseudonym
and what was removed, never the identifier itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Column, Contract
from lakeguard.exceptions import ContractError
from lakeguard.privacy import nir
from lakeguard.privacy.pseudonym import canonical_text, load_key
from lakeguard.s3io import put_json
from lakeguard.tables import CLEAN, REFINED, RUN_COLUMN, SOURCE_COLUMN, Source, load_table, replace_rows
from lakeguard.tables.commit import with_lineage
from lakeguard.tables.expressions import equal
from lakeguard.tables.maintenance import current_files, purge, snapshots_of_runs
from lakeguard.transforms.parse import ParseReport, parse_object
from lakeguard.transforms.refine import refine_table

if TYPE_CHECKING:
    import boto3

#: Snapshot summary key marking an erasure's commits (the pseudonym's first characters).
ERASURE_PROPERTY = "lakeguard.erasure"


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
    purged: list[str] = field(default_factory=list)
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
                 report: ErasureReport) -> dict[str, str]:
    """Delete the subject's clean rows; return the affected raw keys' ids and their runs."""
    table = load_table(settings, CLEAN, contract.name)
    if table.current_snapshot() is None:
        return {}
    hit = table.scan(row_filter=equal(column_name, pseudonym),
                     selected_fields=(SOURCE_COLUMN, RUN_COLUMN)).to_arrow()
    if not hit.num_rows:
        return {}
    before = current_files(table)
    table.delete(equal(column_name, pseudonym),
                 snapshot_properties={ERASURE_PROPERTY: pseudonym[:12]})
    table.refresh()
    report.clean_rows_removed = hit.num_rows
    report.clean_objects = sorted(before - current_files(table))
    report.purged += purge(table, before - current_files(table))
    return dict(zip(hit[SOURCE_COLUMN].to_pylist(), hit[RUN_COLUMN].to_pylist(), strict=True))


def _recompute_refined(contract: Contract, sources: dict[str, str], settings: Settings,
                       report: ErasureReport) -> None:
    """Replace the affected keys' refined rows with ones recomputed from the remaining clean rows.

    The rows keep the run that published them: the ledger's proof still holds. Snapshots a
    model version was trained on are kept (refined rows are aggregates with small cells
    suppressed, not a person's rows), so a model's lineage never points at a deleted input.
    """
    clean_table = load_table(settings, CLEAN, contract.name)
    kept = _training_inputs(contract, settings)
    for source, run in sorted(sources.items()):
        clean = clean_table.scan(row_filter=equal(SOURCE_COLUMN, source)).to_arrow()
        origin = Source(run, source, "", None, None)
        for refined in contract.refined:
            table = load_table(settings, REFINED, refined.table)
            before = current_files(table)
            rows = refine_table(clean.drop_columns([SOURCE_COLUMN, RUN_COLUMN]), refined, contract)
            snapshot = replace_rows(table, with_lineage(rows, table.schema().as_arrow(), origin),
                                    origin, properties={ERASURE_PROPERTY: report.pseudonym[:12]},
                                    rewrite=True)
            table.refresh()
            report.refined_objects.append(f"{REFINED}/{refined.table}@{snapshot}")
            keep = frozenset(kept.get(refined.table, set())) | snapshots_of_runs(
                table, kept.get(f"runs:{refined.table}", set()))
            report.purged += purge(table, before - current_files(table),
                                   frozenset(int(s) for s in keep))


def _training_inputs(contract: Contract, settings: Settings) -> dict[str, set[Any]]:
    """Snapshot ids (per table) and runs (``runs:<table>``) the dataset's models read."""
    from lakeguard.ml import registry
    from lakeguard.ml.store import S3Store

    store = S3Store(settings.artefacts_bucket)
    found: dict[str, set[Any]] = {}
    for dataset, entity in registry.entities(store, contract.name):
        for version in registry.versions(store, dataset, entity):
            inputs = version.get("training", {}).get("inputs") or {}
            table = str(inputs.get("table", "")).rpartition(".")[2]
            if inputs.get("snapshot_id"):
                found.setdefault(table, set()).add(int(inputs["snapshot_id"]))
            if inputs.get("run_id"):
                found.setdefault(f"runs:{table}", set()).add(inputs["run_id"])
    return found


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
    sources = _erase_clean(contract, column.output_names[0], pseudonym, settings, report)
    _recompute_refined(contract, sources, settings, report)
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

