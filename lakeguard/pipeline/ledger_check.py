"""Prove the accounting of the object ledger against the tables, deployed or exported.

The proof, each part naming what breaks it:

- every raw object version has an entry, and the entry is final (published or quarantined);
- every snapshot a published entry names is in its table's history;
- the rows a table shows for a raw key all come from the newest published version of the
  key that committed to that table, and none from a quarantined or unknown run;
- a run that committed some tables without being published is named (its first commit
  is there without the others), unless Quarantine reverted it;
- nothing is left in the zones' staging prefix, nor on a run's branch of a table.

Run against a deployment (raw versions, the ledger table, the Glue catalog's Iceberg
tables) or against a lake exported by ``lakeguard demo`` / ``local run --export``, which
writes ``ledger.json``, ``raw_versions.json`` and ``catalog.json`` beside the zones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeguard.aws import client
from lakeguard.config import STAGING_PREFIX, Settings
from lakeguard.exceptions import LakeguardError
from lakeguard.layout import key_id
from lakeguard.pipeline.ledger import FINAL, PUBLISHED, QUARANTINED, Ledger, LedgerEntry, _later

if TYPE_CHECKING:
    import boto3
    from pyiceberg.table import Table

LEDGER_FILE = "ledger.json"
RAW_VERSIONS_FILE = "raw_versions.json"


@dataclass(frozen=True)
class TableState:
    """What a table holds: its snapshots' summaries and the rows visible per key and run."""

    snapshots: dict[int, dict[str, str]]
    visible: dict[str, dict[str, int]]
    #: Before this time (ISO, UTC) snapshots may have been expired (erasure, maintenance),
    #: and then the visible rows are the proof: the expiry's recorded cutoff, or else when
    #: the oldest snapshot still in the history was committed.
    history_from: str | None = None

    @classmethod
    def of(cls, table: Table) -> TableState:
        """Read a pyiceberg table's metadata and its current rows' lineage columns."""
        from datetime import UTC, datetime

        from lakeguard.tables.commit import visible_runs
        from lakeguard.tables.maintenance import EXPIRED_BEFORE_PROPERTY

        snapshots = {s.snapshot_id: dict(s.summary.additional_properties if s.summary else {})
                     for s in table.metadata.snapshots}
        oldest = min((s.timestamp_ms for s in table.metadata.snapshots), default=None)
        bounds = [table.metadata.properties.get(EXPIRED_BEFORE_PROPERTY),
                  None if oldest is None else datetime.fromtimestamp(oldest / 1000, UTC).isoformat()]
        since = max((b for b in bounds if b), default=None)
        return cls(snapshots, visible_runs(table), since)


@dataclass(frozen=True)
class LedgerCheck:
    """The outcome of the proof; ``ok`` only when nothing is wrong."""

    raw_versions: int
    entries: int
    published: int
    quarantined: int
    unaccounted: list[str]
    unfinished: list[str]
    missing_snapshots: list[str] = field(default_factory=list)
    wrong_rows: list[str] = field(default_factory=list)
    quarantined_rows: list[str] = field(default_factory=list)
    partial_commits: list[str] = field(default_factory=list)
    staging_leftovers: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every finding, one line each, with what to do about it."""
        return ([f"no ledger entry: {n} (no execution recorded it; re-drop the file)"
                 for n in self.unaccounted]
                + [f"not final: {n} (still running, or its execution died: see its run)"
                   for n in self.unfinished]
                + [f"missing snapshot: {n} (expired or rolled back; the entry's rows are "
                   "not provable)" for n in self.missing_snapshots]
                + [f"wrong rows: {n}" for n in self.wrong_rows]
                + [f"quarantined rows visible: {n} (revert them: re-run Quarantine)"
                   for n in self.quarantined_rows]
                + [f"partial commit: {n}" for n in self.partial_commits]
                + [f"left in staging: {n} (delete it once its run is final)"
                   for n in self.staging_leftovers])

    @property
    def ok(self) -> bool:
        """Every version final, every published version's rows proven, staging empty."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """Counts, findings by kind, and ``ok`` (``lakeguard ledger check --json``)."""
        return {**asdict(self), "ok": self.ok}

    def lines(self) -> list[str]:
        """A report for people: counts, then each problem."""
        return [f"raw object versions: {self.raw_versions}", f"ledger entries:      {self.entries}",
                f"published:           {self.published}",
                f"quarantined:         {self.quarantined}",
                f"unaccounted:         {len(self.unaccounted) + len(self.unfinished)}",
                f"table problems:      {len(self.problems) - len(self.unaccounted) - len(self.unfinished)}",
                *(f"  {p}" for p in self.problems)]


def _newer(a: LedgerEntry, b: LedgerEntry) -> bool:
    if a.sequencer and b.sequencer:
        return _later(a.sequencer, b.sequencer)
    return (a.received_at or "") > (b.received_at or "")


def _committed(entry: LedgerEntry) -> dict[str, int]:
    """``zone/table -> snapshot id`` a published entry names (``zone/table@id`` outputs)."""
    found = {}
    for output in entry.outputs:
        table, sep, snapshot = output.rpartition("@")
        if sep and snapshot.isdigit():
            found[table] = int(snapshot)
    return found


def _describe(entry: LedgerEntry) -> str:
    return f"{entry.key} (version {entry.version_id}, run {entry.run_id})"


def check_tables(entries: list[LedgerEntry], tables: dict[str, TableState]) -> dict[str, list[str]]:
    """The table half of the proof: snapshots, visible rows, partial commits."""
    by_run = {e.run_id: e for e in entries}
    missing, wrong, refused, partial = [], [], [], []
    expected: dict[tuple[str, str], LedgerEntry] = {}  # (table, key id) -> newest committer
    for entry in entries:
        if entry.state != PUBLISHED:
            continue
        for table, snapshot in _committed(entry).items():
            state = tables.get(table)
            expired = (state is not None and state.history_from is not None
                       and state.history_from > entry.updated_at)
            if state is None or (snapshot not in state.snapshots and not expired):
                missing.append(f"{table}@{snapshot} of {_describe(entry)}")
            slot = (table, key_id(entry.key))
            if slot not in expected or _newer(entry, expected[slot]):
                expected[slot] = entry
    for table, state in sorted(tables.items()):
        for source, runs in sorted(state.visible.items()):
            owner = expected.get((table, source))
            for run, rows in sorted(runs.items()):
                writer = by_run.get(run)
                if owner is not None and run == owner.run_id:
                    continue
                if writer is not None and writer.state == QUARANTINED:
                    refused.append(f"{table}: {rows} rows of {_describe(writer)}")
                elif owner is None:
                    wrong.append(f"{table}: {rows} rows of run {run}, which no published entry "
                                 "names (commit outside the pipeline?)")
                else:
                    wrong.append(f"{table}: {rows} rows of run {run} for {owner.key}, whose "
                                 f"newest published version is run {owner.run_id}")
    committed_by_run: dict[str, list[str]] = {}
    reverted = set()
    for table, held in tables.items():
        for snapshot_id, summary in held.snapshots.items():
            if "lakeguard.reverted-run-id" in summary:
                reverted.add((table, summary["lakeguard.reverted-run-id"]))
            elif "lakeguard.run-id" in summary:
                committed_by_run.setdefault(summary["lakeguard.run-id"], []).append(
                    f"{table}@{snapshot_id}")
    for run, outputs in sorted(committed_by_run.items()):
        committer = by_run.get(run)
        if committer is not None and committer.state == PUBLISHED:
            continue
        kept = [o for o in outputs if (o.rpartition("@")[0], run) not in reverted]
        if kept:
            status = committer.state if committer else "not in the ledger"
            who = _describe(committer) if committer else f"run {run}"
            partial.append(f"{who} committed {', '.join(sorted(kept))} but is {status}: "
                           "its other commits never came (re-run Publish, or Quarantine to "
                           "revert)")
    return {"missing_snapshots": missing, "wrong_rows": wrong, "quarantined_rows": refused,
            "partial_commits": partial}


def check(entries: Iterable[LedgerEntry], raw_versions: Iterable[tuple[str, str]],
          tables: dict[str, TableState], staging: Iterable[str]) -> LedgerCheck:
    """The whole proof over the ledger, raw versions ``(key, version_id)``, tables and staging."""
    entries = list(entries)
    raw = sorted(set(raw_versions))
    recorded = {(e.key, e.version_id) for e in entries}
    return LedgerCheck(
        raw_versions=len(raw), entries=len(entries),
        published=sum(e.state == PUBLISHED for e in entries),
        quarantined=sum(e.state == QUARANTINED for e in entries),
        unaccounted=[f"{k} (version {v})" for k, v in raw if (k, v) not in recorded],
        unfinished=[f"{e.key} (version {e.version_id}): {e.state}" for e in entries
                    if e.state not in FINAL],
        staging_leftovers=sorted(staging),
        **check_tables(entries, tables),
    )


def check_deployed(settings: Settings, session: boto3.session.Session | None = None
                   ) -> LedgerCheck:
    """Check a deployment: raw versions from S3, the ledger table, the catalog's tables."""
    from lakeguard.tables import all_tables, load_table

    loaded = {s.key: load_table(settings, s.zone, s.name) for s in all_tables()}
    tables = {key: TableState.of(table) for key, table in loaded.items()}
    staging = [f"{zone}/{key}" for zone, bucket in (("clean", settings.clean_bucket),
                                                    ("refined", settings.refined_bucket))
               for key in _keys(bucket, f"{STAGING_PREFIX}/", session)]
    staging += branch_leftovers(loaded)
    return check(Ledger(settings.ledger_table, session).entries(),
                 raw_object_versions(settings.raw_bucket, session), tables, staging)


def branch_leftovers(tables: Mapping[str, Table]) -> list[str]:
    """``zone/table@run_<id>`` for each run's branch still on a table (a hand-off left over)."""
    from lakeguard.tables.branches import run_branch, run_branches

    return [f"{key}@{run_branch(run)}" for key, table in tables.items()
            for run in run_branches(table)]


def raw_object_versions(bucket: str, session: boto3.session.Session | None = None
                        ) -> list[tuple[str, str]]:
    """Every object version in the raw bucket (delete markers are not objects)."""
    pages = client("s3", session).get_paginator("list_object_versions").paginate(Bucket=bucket)
    return [(v["Key"], v.get("VersionId") or "null") for page in pages
            for v in page.get("Versions", [])]


def _keys(bucket: str, prefix: str, session: boto3.session.Session | None) -> list[str]:
    pages = client("s3", session).get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                           Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def read_export(folder: Path) -> tuple[list[LedgerEntry], list[tuple[str, str]]]:
    """The ledger and raw versions an export wrote, or an error saying how to get them."""
    ledger, versions = folder / LEDGER_FILE, folder / RAW_VERSIONS_FILE
    if not ledger.is_file() or not versions.is_file():
        raise LakeguardError(f"{folder} has no {LEDGER_FILE} / {RAW_VERSIONS_FILE}: point --local "
                             "at a lake exported by `lakeguard demo` or `lakeguard local run "
                             "--export DIR`")
    entries = [LedgerEntry(**e) for e in json.loads(ledger.read_text("utf-8"))]
    return entries, [(k, v) for k, v in json.loads(versions.read_text("utf-8"))]


def check_export(folder: Path) -> LedgerCheck:
    """Check an exported lake: its ledger, raw versions, exported tables and staging list."""
    from lakeguard.tables.export import exported_table, read_catalog

    entries, versions = read_export(folder)
    catalog = read_catalog(folder)
    loaded = {name: exported_table(folder, name, catalog) for name in catalog["tables"]}
    tables = {name: TableState.of(table) for name, table in loaded.items()}
    return check(entries, versions, tables, [*catalog.get("staging", []),
                                             *branch_leftovers(loaded)])
