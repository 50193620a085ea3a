"""Prove the accounting of the object ledger, for a deployment or an exported lake.

Every raw object version must have ended published or quarantined, and every object in
clean and refined must belong to a published one.

Run against a deployment (the raw bucket's versions, the zones' objects, the ledger table)
or against a lake exported by ``lakeguard demo`` / ``lakeguard local run --export``, which
writes ``ledger.json`` and ``raw_versions.json`` beside the zones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeguard.aws import client
from lakeguard.config import STAGING_PREFIX, Settings
from lakeguard.exceptions import LakeguardError
from lakeguard.pipeline.ledger import FINAL, PUBLISHED, QUARANTINED, Ledger, LedgerEntry

if TYPE_CHECKING:
    import boto3

#: Zones whose every object must be listed as an output of a published entry.
CHECKED_ZONES = ("clean", "refined")

LEDGER_FILE = "ledger.json"
RAW_VERSIONS_FILE = "raw_versions.json"


@dataclass(frozen=True)
class LedgerCheck:
    """The outcome of the accounting; ``ok`` only when nothing is unaccounted."""

    raw_versions: int
    entries: int
    published: int
    quarantined: int
    unaccounted: list[str]
    unfinished: list[str]
    orphans: list[str]

    @property
    def ok(self) -> bool:
        """Every version final, every zone object owned."""
        return not (self.unaccounted or self.unfinished or self.orphans)

    def to_json(self) -> dict[str, Any]:
        """Counts and the offending names (``lakeguard ledger check --json``)."""
        return {**asdict(self), "ok": self.ok}

    def lines(self) -> list[str]:
        """A report for people: counts, then each problem with what to do about it."""
        out = [f"raw object versions: {self.raw_versions}", f"ledger entries:      {self.entries}",
               f"published:           {self.published}", f"quarantined:         {self.quarantined}",
               f"unaccounted:         {len(self.unaccounted) + len(self.unfinished)}",
               f"orphan objects:      {len(self.orphans)}"]
        out += [f"  no ledger entry: {name} (no execution recorded it; re-drop the file)"
                for name in self.unaccounted]
        out += [f"  not final: {name} (still running, or its execution died: see its run)"
                for name in self.unfinished]
        out += [f"  orphan: {name} (no published entry lists it)" for name in self.orphans]
        return out


def check(entries: Iterable[LedgerEntry], raw_versions: Iterable[tuple[str, str]],
          zone_objects: Iterable[str]) -> LedgerCheck:
    """Match raw versions ``(key, version_id)`` and zone objects ``zone/key`` to the ledger."""
    entries = list(entries)
    raw = sorted(set(raw_versions))
    recorded = {(e.key, e.version_id): e for e in entries}
    owned = {o for e in entries if e.state == PUBLISHED for o in e.outputs}
    return LedgerCheck(
        raw_versions=len(raw), entries=len(entries),
        published=sum(e.state == PUBLISHED for e in entries),
        quarantined=sum(e.state == QUARANTINED for e in entries),
        unaccounted=[f"{k} (version {v})" for k, v in raw if (k, v) not in recorded],
        unfinished=[f"{e.key} (version {e.version_id}): {e.state}" for e in entries
                    if e.state not in FINAL],
        orphans=sorted(o for o in set(zone_objects) if o not in owned),
    )


def check_deployed(settings: Settings, session: boto3.session.Session | None = None
                   ) -> LedgerCheck:
    """Check a deployment: raw versions from S3, zone objects, the ledger table."""
    return check(Ledger(settings.ledger_table, session).entries(),
                 raw_object_versions(settings.raw_bucket, session),
                 [f"{zone}/{key}" for zone, bucket in (("clean", settings.clean_bucket),
                                                       ("refined", settings.refined_bucket))
                  for key in _keys(bucket, session)])


def raw_object_versions(bucket: str, session: boto3.session.Session | None = None
                        ) -> list[tuple[str, str]]:
    """Every object version in the raw bucket (delete markers are not objects)."""
    pages = client("s3", session).get_paginator("list_object_versions").paginate(Bucket=bucket)
    return [(v["Key"], v.get("VersionId") or "null") for page in pages
            for v in page.get("Versions", [])]


def _keys(bucket: str, session: boto3.session.Session | None) -> list[str]:
    pages = client("s3", session).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])
            if not o["Key"].startswith(f"{STAGING_PREFIX}/")]


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
    """Check an exported lake: its ledger, raw versions and zone folders."""
    entries, versions = read_export(folder)
    objects = [f"{zone}/{p.relative_to(folder / zone).as_posix()}" for zone in CHECKED_ZONES
               if (folder / zone).is_dir() for p in (folder / zone).rglob("*") if p.is_file()]
    return check(entries, versions, objects)
