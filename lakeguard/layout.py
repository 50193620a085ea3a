"""Where every zone keeps what: the one place that knows the S3 key conventions.

Stages hand their rows to the next stage under ``_staging/<run_id>/``; only Publish turns
them into Iceberg commits (:mod:`lakeguard.tables`), each row tagged with the raw key's id
(:func:`key_id`), so reprocessing a raw key replaces its earlier rows instead of adding to
them. The tables' own files live under ``<table>/data/`` and ``<table>/metadata/``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import quote

from lakeguard.config import STAGING_PREFIX

_NAME_SAFE = re.compile(r"[^A-Za-z0-9-]+")

#: Folders of the artefacts bucket (IAM policies are written against them too).
MODELS_FOLDER = "models/"
AUDIT_FOLDER = "audit/"


def key_id(key: str) -> str:
    """Stable id of a raw key: names every object derived from it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def run_id(dataset: str | None, bucket: str, key: str, version_id: str | None) -> str:
    """Execution name for one raw object version: duplicate events map to the same name."""
    digest = hashlib.sha256(f"{bucket}/{key}#{version_id or 'null'}".encode()).hexdigest()
    prefix = _NAME_SAFE.sub("-", dataset or "unrouted")[:32]
    return f"{prefix}-{digest[:32]}"


def staging_prefix(run: str) -> str:
    """Prefix of a run's uncommitted output in the clean and refined buckets."""
    return f"{STAGING_PREFIX}/{run}/"


def partition_path(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    """Hive-style partition folders: ``season=1996-97``."""
    return "/".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


def object_key(prefix: str, partition: str, name: str) -> str:
    """Key of an object in a (possibly unpartitioned) table folder."""
    return posixpath.join(prefix, partition, name) if partition else posixpath.join(prefix, name)


def model_prefix(dataset: str, entity: str) -> str:
    """Folder of one entity's model versions in the artefacts bucket."""
    return f"{MODELS_FOLDER}{dataset}/{quote(entity, safe='')}/"


def audit_key(dataset: str, run: str) -> str:
    """Key of a run's audit record (counts, key version, outputs) in the artefacts bucket."""
    return f"{AUDIT_FOLDER}{dataset}/{run}.json"


def quarantine_prefix(dataset: str | None, run: str) -> str:
    """Folder holding a quarantined object and the JSON report of why."""
    return f"{dataset or 'unrouted'}/{run}/"
