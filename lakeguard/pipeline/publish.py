"""Publish stage: commit the run's rows to each table of its dataset, then record them.

The protocol, retried whole by the state machine (every step is idempotent):

1. If a newer version of the same raw key is already published, this run is superseded:
   its staged rows are dropped and the ledger says so.
2. For each table, clean first, then the refined tables side by side (they are
   independent): one Iceberg commit replaces the key's rows with the run's (an overwrite
   filtered on the source key, see :func:`lakeguard.tables.replace_rows`) that also drops
   the run's branch of the table, where the refine job handed its rows over. A table
   whose visible rows of the key are already this run's is skipped (a retry); one showing
   a newer version's rows is left alone (the newer version wins whatever order runs
   finish in).
3. The run's staged hand-off objects (and branches of tables left alone) are deleted.
4. The audit record and the ledger (``published``) name every table's snapshot id.

The clean commit keeps only the run's rows whose class holds k people and l sensitive
values over the whole published table (:mod:`lakeguard.tables.tablek`), counted
against the very table state it commits to.

Nothing visible is deleted before its replacement commits; a run refused after some of
its commits is reverted by Quarantine (:func:`lakeguard.tables.revert_run`), and
``lakeguard ledger check`` names a run whose first commit is there without the others.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.layout import audit_key, staging_prefix
from lakeguard.pipeline.duplicates import (
    check_not_a_copy,
    displaced_rows,
    find_conflicts,
    published_keys,
    refuse_conflicts,
)
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.handoff import handed_rows
from lakeguard.pipeline.ledger import PUBLISHED, Ledger
from lakeguard.pipeline.seams import seam
from lakeguard.pipeline.state import Clean, NaturalKeyOutcome, Quality, Score, Validation
from lakeguard.pipeline.state import Publish as PublishResult
from lakeguard.s3io import delete_keys, list_keys, put_json
from lakeguard.tables import (
    CLEAN,
    Names,
    Source,
    TableSpec,
    load_table,
    names_of,
    replace_rows,
    run_tables,
)
from lakeguard.tables.anomalies import ANOMALIES_TABLE
from lakeguard.tables.branches import drop_branch, drop_run_branches
from lakeguard.tables.commit import Superseded, displaced_keys, with_lineage
from lakeguard.tables.expressions import equal
from lakeguard.tables.spec import RUN_COLUMN, SOURCE_COLUMN
from lakeguard.tables.tablek import enforce_across_table

if TYPE_CHECKING:
    import boto3
    from pyiceberg.table import Table

    from lakeguard.contracts.model import Contract

#: Attempts at one table's commit when a concurrent commit of the same key got in first.
_ATTEMPTS = 3
#: What identifies a scored point in ``refined.anomalies``.
ANOMALY_POINT = ("entity", "ts")
#: Rows other raw keys keep in a table, by key id, given the table and the run's rows.
Displace = Callable[["Table", "pa.Table"], dict[str, "pa.Table"]]


def staged_rows(spec: TableSpec, table: Table, ref: ObjectRef, names: Names,
                session: boto3.session.Session | None) -> pa.Table:
    """The rows earlier stages handed over for one table (its branch, else staged Parquet)."""
    return handed_rows(table, names.bucket(spec.zone), spec.name, ref.run_id, session)


def commit_table(spec: TableSpec, ref: ObjectRef, source: Source, settings: Settings,
                 newer_runs: frozenset[str], session: boto3.session.Session | None,
                 privacy: Callable[[Table, pa.Table], pa.Table] | None = None,
                 displace: Displace | None = None) -> int:
    """Commit the run's rows of one table (or find that commit); return the snapshot id.

    ``privacy`` (clean tables) keeps the rows that may be published given what the table
    holds at this attempt: counted again on every retry, against the table it commits to.
    ``displace`` gives the rows other raw keys keep when the run's rows replace some of
    theirs (a natural key's ``replace``), rewritten in the same commit.
    """
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    names = names_of(settings)
    for attempt in range(1, _ATTEMPTS + 1):
        table = load_table(settings, spec.zone, spec.name)
        rows = staged_rows(spec, table, ref, names, session)
        if privacy is not None:
            rows = privacy(table, rows)
        try:
            return replace_rows(table, with_lineage(rows, table.schema().as_arrow(), source),
                                source, newer_runs=newer_runs, hand_off=ref.run_id,
                                on_written=lambda: seam(f"commit:{spec.key}:written", ref.run_id),
                                displaced=displace(table, rows) if displace else None)
        except (CommitFailedException, ValidationException):
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def supersede(ref: ObjectRef, newer: str, dataset: str, settings: Settings, ledger: Ledger,
              session: boto3.session.Session | None = None) -> PublishResult:
    """A newer version of the key is published: drop this run's hand-off instead of committing.

    The entry is final (published, with no outputs and the reason), so the accounting
    holds, and the tables keep the newer version's rows.
    """
    _drop_staging(ref, settings, session)
    drop_run_branches(ref.run_id, dataset, settings)
    ledger.advance(ref, PUBLISHED, dataset=dataset, outputs=[],
                   reason=f"superseded: version {newer} of the same key was published later")
    return PublishResult(snapshots={}, superseded_by=newer)


def _drop_staging(ref: ObjectRef, settings: Settings,
                  session: boto3.session.Session | None) -> None:
    for bucket in (settings.clean_bucket, settings.refined_bucket):
        delete_keys(bucket, list_keys(bucket, staging_prefix(ref.run_id), session), session)


def _natural_key_reason(duplicates: NaturalKeyOutcome | None) -> str | None:
    """The ledger's note of the natural-key policy that left out or replaced rows."""
    if not duplicates:
        return None
    policy = (f"natural key ({', '.join(duplicates.natural_key)}), on_conflict = "
              f"{duplicates.on_conflict}")
    sources = ", ".join(duplicates.sources)
    if duplicates.rows_replaced:
        return (f"{policy}: {duplicates.rows_replaced} row(s) replaced rows published from "
                f"source_key_id {sources}")
    if duplicates.rows_skipped:
        return (f"{policy}: {duplicates.rows_skipped} row(s) left out, already published "
                f"from source_key_id {sources}")
    return None


def _displace_in_refined(clean: Table, keys: list[str], spec: TableSpec,
                         contract: Contract) -> Displace | None:
    """How a refined table follows the clean rows the run's clean commit displaced."""
    if not keys:
        return None
    if spec.name == ANOMALIES_TABLE:
        return _unscored_again(keys)
    return _rederived(clean, keys, spec, contract)


def _rederived(clean: Table, keys: list[str], spec: TableSpec, contract: Contract) -> Displace:
    """Refined rows of raw keys whose clean rows the run replaced, derived again from theirs.

    Read from the clean table as the run's clean commit left it, so a retried Publish
    derives the same rows; each key keeps its own lineage (its run and source key).
    """
    from lakeguard.transforms.refine import refine_table

    refined = contract.refined_table(spec.name)

    def displace(table: Table, rows: pa.Table) -> dict[str, pa.Table]:
        found = {}
        schema = table.schema().as_arrow()
        for key in keys:
            theirs = clean.scan(row_filter=equal(SOURCE_COLUMN, key)).to_arrow()
            runs = sorted(set(theirs[RUN_COLUMN].to_pylist()))
            owner = Source(runs[0] if runs else "", key, "", None, None)
            derived = refine_table(theirs.drop_columns([SOURCE_COLUMN, RUN_COLUMN]), refined,
                                   contract)
            found[key] = with_lineage(derived, schema, owner)
        return found

    return displace


def _unscored_again(keys: list[str]) -> Displace:
    """Scored points of raw keys whose rows the run replaced, but for those it scores anew.

    A point is a series and a day (``entity``, ``ts``): the run's own scoring of the
    replaced facts takes the place of the earlier one; the others keep their score.
    """

    def displace(table: Table, rows: pa.Table) -> dict[str, pa.Table]:
        found: dict[str, pa.Table] = {}
        if not set(ANOMALY_POINT) <= set(rows.column_names):  # the run scored nothing
            return found
        for key in keys:
            theirs = table.scan(row_filter=equal(SOURCE_COLUMN, key)).to_arrow()
            point = pa.schema([theirs.schema.field(column) for column in ANOMALY_POINT])
            found[key] = theirs.join(rows.select(point.names).cast(point),
                                     keys=point.names, join_type="left anti")
        return found

    return displace


def publish(state: dict[str, Any], settings: Settings,
            session: boto3.session.Session | None = None) -> PublishResult:
    """Commit the run's rows to each table of its dataset and record the snapshots."""
    ref = ObjectRef.from_state(state)
    validation = Validation.read(state)
    dataset = validation.dataset
    ledger = Ledger(settings.ledger_table, session)
    newer = ledger.newer_version(ref, published_only=True)
    if newer is not None:
        return supersede(ref, newer, dataset, settings, ledger, session)
    cleaned = Clean.read(state)
    check_not_a_copy(ref, cleaned.input_sha256, ledger)  # a copy published meanwhile
    source = Source(ref.run_id, ref.key_id, ref.key, ref.version_id, cleaned.input_sha256)
    newer_runs = frozenset(ledger.newer_runs(ref))
    snapshots: dict[str, int] = {}
    skipped: list[str] = []
    contract = load_contract(dataset)
    judged: dict[str, Any] = {}

    table_k = contract.privacy.quasi_identifiers and contract.privacy.k_scope == "table"
    natural_key = contract.natural_key
    replacing = natural_key is not None and natural_key.on_conflict == "replace"
    replaced: dict[str, int] = {}

    def judged_against(table: Table, rows: pa.Table) -> pa.Table:
        """The clean rows, weighed against the very table state they are committed to."""
        if natural_key is not None:  # another file with the same facts published meanwhile
            refuse_conflicts(find_conflicts(rows, published_keys(table, rows, natural_key,
                                                                 source.key_id), natural_key),
                             contract, ref, at_publish=True)
        if not table_k:
            return rows
        kept, verdict = enforce_across_table(table, rows, contract, source.key_id)
        judged.update(verdict.to_json())
        return kept

    def displace_in_clean(table: Table, rows: pa.Table) -> dict[str, pa.Table]:
        """Other keys' clean rows without those the run's rows replace (``replace``)."""
        assert natural_key is not None
        displacement = displaced_rows(table, rows, natural_key, source.key_id)
        replaced["rows"] = displacement.replaced
        return displacement.kept

    def commit(spec: TableSpec, displace: Displace | None = None) -> None:
        try:
            snapshots[spec.key] = commit_table(
                spec, ref, source, settings, newer_runs, session,
                judged_against if spec.zone == CLEAN and (table_k or natural_key) else None,
                displace)
        except Superseded:
            skipped.append(spec.key)
            drop_branch(load_table(settings, spec.zone, spec.name), ref.run_id)
            return
        seam(f"commit:{spec.key}:done", ref.run_id)

    clean_table, *refined_tables = run_tables(contract)
    # clean first: a refined row never shows without its clean rows
    commit(clean_table, displace_in_clean if replacing else None)
    follow: dict[str, Displace | None] = {spec.key: None for spec in refined_tables}
    if replacing and clean_table.key in snapshots:  # only ``replace`` displaces other keys
        clean_now = load_table(settings, clean_table.zone, clean_table.name)
        displaced = displaced_keys(clean_now, snapshots[clean_table.key])
        follow = {spec.key: _displace_in_refined(clean_now, displaced, spec, contract)
                  for spec in refined_tables}
    with ThreadPoolExecutor(max_workers=len(refined_tables) or 1) as pool:
        for done in [pool.submit(commit, spec, follow[spec.key]) for spec in refined_tables]:
            done.result()  # the refined tables are independent: committed side by side
    seam("publish:committed", ref.run_id)
    _drop_staging(ref, settings, session)
    outputs = [f"{key}@{snapshot}" for key, snapshot in sorted(snapshots.items())]
    counts = {**cleaned.to_json(), **judged}  # Publish's count over the table replaces Clean's
    quality = Quality.find(state)
    duplicates = quality.duplicates if quality else None
    if duplicates and replacing and "rows" in replaced:  # counted at the commit, not the gate
        duplicates = replace(duplicates, rows_replaced=replaced["rows"])
    skipped_rows = duplicates.rows_skipped if duplicates else 0
    if skipped_rows and counts.get("rows_out") is not None:
        counts["rows_out"] -= skipped_rows
    record = {
        "run_id": ref.run_id,
        "source": {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id,
                   "sha256": cleaned.input_sha256},
        "dataset": dataset,
        "contract": {"name": dataset, "version": validation.contract_version,
                     "sha256": validation.contract_digest},
        "pseudonym_key_version": cleaned.key_version,
        "rows": {**{k.removeprefix("rows_"): counts.get(k) for k in
                    ("rows_in", "rows_out", "rows_rejected", "rows_suppressed")},
                 "skipped": skipped_rows,
                 "replaced": duplicates.rows_replaced if duplicates else 0},
        "natural_key": asdict(duplicates) if duplicates else None,
        "k_anonymity": {"required": counts.get("k_required"),
                        "achieved": counts.get("k_achieved"),
                        "counted_in": counts.get("k_counted_in"),
                        "quasi_identifiers": list(contract.privacy.quasi_identifiers)},
        "l_diversity": {"required": counts.get("l_required"), "achieved": counts.get("l_achieved"),
                        "sensitive": contract.privacy.sensitive},
        "rejects": cleaned.rejects,
        "clean_objects": [o for o in outputs if o.startswith(f"{CLEAN}/")],
        "refined_objects": [o for o in outputs if not o.startswith(f"{CLEAN}/")],
        "snapshots": {key: str(snapshot) for key, snapshot in sorted(snapshots.items())},
        "newer_version_kept": skipped,
        "anomalies": scored.anomalies if (scored := Score.find(state)) else None,
        "received_at": state.get("received_at"),
    }
    put_json(record, settings.artefacts_bucket, audit_key(dataset, ref.run_id), session)
    ledger.advance(ref, PUBLISHED, dataset=dataset, digest=cleaned.input_sha256,
                   outputs=outputs, reason=_natural_key_reason(duplicates))
    seam("publish:recorded", ref.run_id)
    return PublishResult(snapshots={k: str(s) for k, s in sorted(snapshots.items())},
                         tables=len(snapshots),
                         published_at=datetime.now(UTC).isoformat(), **judged)
