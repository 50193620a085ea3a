"""Erasure in the Iceberg tables: one commit per affected raw key, then nothing left in S3.

Every raw key (``source_key_id``) whose clean rows hold the subject, under any of their
pseudonyms, or whose free text names them, is rewritten in one commit: its rows without
the subject's, its comments with the subject's name words replaced. Classes counted over
the table (``k_scope = "table"``) that the subject's departure leaves under k people or
l values lose their other rows in the same commits. Its refined rows are
recomputed from what remains and its anomalies re-scored with the current champions, one
commit per table, keeping the run that published them (the ledger's proof still holds).
Then every snapshot but the current one (and those a model was trained on) is expired
and the files that held the erased rows are deleted, every S3 version of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import Settings
from lakeguard.contracts.model import Contract
from lakeguard.identifiers.words import redact_words
from lakeguard.privacy.anonymise import free_text_columns
from lakeguard.privacy.kanon import ClassCounter, class_keys, suppress
from lakeguard.tables import CLEAN, REFINED, RUN_COLUMN, SOURCE_COLUMN, Source, load_table, replace_rows
from lakeguard.tables.commit import with_lineage
from lakeguard.tables.expressions import equal
from lakeguard.tables.maintenance import current_files, purge, snapshots_of_runs
from lakeguard.transforms.refine import refine_table

if TYPE_CHECKING:
    from pyiceberg.table import Table

#: Snapshot summary key marking an erasure's commits (the pseudonym's first characters).
ERASURE_PROPERTY = "lakeguard.erasure"


@dataclass
class TableChanges:
    """What the tables lose: counts, table names and snapshot ids, never a value."""

    rows_removed: int = 0
    cells_redacted: int = 0
    #: Other people's rows whose class fell under k people (or l values) without the subject.
    rows_suppressed: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    clean_objects: list[str] = field(default_factory=list)
    refined_objects: list[str] = field(default_factory=list)
    anomaly_objects: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)


def _rewritten(rows: pa.Table, column: str, pseudonyms: pa.Array, words: pa.Array,
               free_text: tuple[str, ...], contract: Contract,
               small: pa.Array) -> tuple[pa.Table, int, int, int]:
    """Rows without the subject's nor those of fallen classes, free text without their name.

    Returns them with the rows removed, the cells redacted and the rows suppressed.
    """
    hit = pc.fill_null(pc.is_in(rows[column], value_set=pseudonyms), False)
    kept = rows.filter(pc.invert(hit))
    before = kept.num_rows
    narrowed = suppress(kept, contract.privacy.quasi_identifiers, small)
    assert isinstance(narrowed, pa.Table)
    kept, suppressed = narrowed, before - narrowed.num_rows
    redacted = 0
    for name in (n for n in free_text if n in kept.column_names and len(words)):
        before = kept[name].combine_chunks().cast(pa.string())  # tables read large_string
        after = redact_words(before, words)
        redacted += int(pc.sum(pc.fill_null(pc.not_equal(before, after), False)).as_py() or 0)
        kept = kept.set_column(kept.column_names.index(name), name, after)
    return kept, int(pc.sum(hit).as_py() or 0), redacted, suppressed


def fallen_classes(table: Table, contract: Contract, column: str,
                   pseudonyms: pa.Array) -> tuple[pa.Array, dict[str, str]]:
    """Classes under k people or l values once the subject's rows are gone, and their keys.

    Publish counts classes over the whole table; removing a person can leave a class one
    short, whose other rows must then go too, or the guarantee would not hold.
    """
    spec = contract.privacy
    if not spec.quasi_identifiers or spec.k_scope != "table" or table.current_snapshot() is None:
        return pa.array([], pa.string()), {}
    fields = {*spec.quasi_identifiers, column, SOURCE_COLUMN, RUN_COLUMN,
              *(c for c in (spec.subject, spec.sensitive) if c)}
    rows = table.scan(selected_fields=tuple(sorted(fields))).to_arrow()
    rows = rows.filter(pc.invert(pc.fill_null(pc.is_in(rows[column], value_set=pseudonyms),
                                              False)))
    counter = ClassCounter(spec)
    for batch in rows.to_batches():
        counter.add(counter.measure(batch))
    small = counter.verdict().small
    fallen = rows.filter(pc.is_in(class_keys(rows, spec.quasi_identifiers), value_set=small))
    return small, dict(zip(fallen[SOURCE_COLUMN].to_pylist(), fallen[RUN_COLUMN].to_pylist(),
                           strict=True))


def affected_sources(table: Table, column: str, pseudonyms: pa.Array, words: pa.Array,
                     free_text: tuple[str, ...]) -> dict[str, str]:
    """Raw keys (and the run that published them) holding the subject's rows or name."""
    if table.current_snapshot() is None:
        return {}
    fields = (column, SOURCE_COLUMN, RUN_COLUMN, *free_text)
    rows = table.scan(selected_fields=fields).to_arrow()
    hit = pc.fill_null(pc.is_in(rows[column], value_set=pseudonyms), False)
    for name in (n for n in free_text if len(words)):
        text = rows[name].combine_chunks().cast(pa.string())  # tables read large_string
        hit = pc.or_(hit, pc.fill_null(pc.not_equal(text, redact_words(text, words)), False))
    found = rows.filter(hit)
    return dict(zip(found[SOURCE_COLUMN].to_pylist(), found[RUN_COLUMN].to_pylist(), strict=True))


def erase_in_tables(contract: Contract, column: str, pseudonyms: list[str], words: pa.Array,
                    settings: Settings, label: str, dry_run: bool) -> TableChanges:
    """Rewrite the clean rows of every affected raw key, then refined and anomalies."""
    changes = TableChanges()
    table = load_table(settings, CLEAN, contract.name)
    targets = pa.array(sorted(set(pseudonyms)), pa.string())
    free_text = free_text_columns(contract)
    changes.sources = affected_sources(table, column, targets, words, free_text)
    small, fallen = fallen_classes(table, contract, column, targets)
    changes.sources.update(fallen)
    before = current_files(table)
    for source, run in sorted(changes.sources.items()):
        rows = table.scan(row_filter=equal(SOURCE_COLUMN, source)).to_arrow()
        kept, removed, redacted, suppressed = _rewritten(rows, column, targets, words, free_text,
                                                         contract, small)
        changes.rows_removed += removed
        changes.cells_redacted += redacted
        changes.rows_suppressed += suppressed
        if dry_run:
            changes.clean_objects.append(f"{CLEAN}/{contract.name}:{source}")
            continue
        origin = Source(run, source, "", None, None)
        snapshot = replace_rows(table, with_lineage(kept, table.schema().as_arrow(), origin),
                                origin, properties={ERASURE_PROPERTY: label}, rewrite=True)
        table.refresh()
        changes.clean_objects.append(f"{CLEAN}/{contract.name}@{snapshot}")
    if not dry_run and changes.sources:
        changes.purged += purge(table, before - current_files(table))
    _recompute_refined(contract, changes, settings, label, dry_run)
    return changes


def _recompute_refined(contract: Contract, changes: TableChanges, settings: Settings,
                       label: str, dry_run: bool) -> None:
    """Replace the affected keys' refined rows and anomalies with recomputed ones.

    Snapshots a model version was trained on are kept (refined rows are aggregates with
    small cells suppressed, not a person's rows), so a model's lineage never points at a
    deleted input.
    """
    from lakeguard.erasure.rescore import rescored

    clean_table = load_table(settings, CLEAN, contract.name)
    kept = _training_inputs(contract, settings)
    tables: list[tuple[str, Any]] = [(r.table, r) for r in contract.refined]
    if contract.model is not None:
        tables.append(("anomalies", None))
    for name, refined in tables:
        table = load_table(settings, REFINED, name)
        before = current_files(table)
        for source, run in sorted(changes.sources.items()):
            target = changes.anomaly_objects if refined is None else changes.refined_objects
            if dry_run:
                target.append(f"{REFINED}/{name}:{source}")
                continue
            origin = Source(run, source, "", None, None)
            if refined is None:
                rows = rescored(contract, settings, source)
            else:
                clean = clean_table.scan(row_filter=equal(SOURCE_COLUMN, source)).to_arrow()
                rows = refine_table(clean.drop_columns([SOURCE_COLUMN, RUN_COLUMN]), refined,
                                    contract)
            snapshot = replace_rows(table, with_lineage(rows, table.schema().as_arrow(), origin),
                                    origin, properties={ERASURE_PROPERTY: label}, rewrite=True)
            table.refresh()
            target.append(f"{REFINED}/{name}@{snapshot}")
        if not dry_run and changes.sources:
            keep = frozenset(kept.get(name, set())) | snapshots_of_runs(
                table, kept.get(f"runs:{name}", set()))
            changes.purged += purge(table, before - current_files(table),
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
