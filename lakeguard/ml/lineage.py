"""What a model version was made from: data objects and versions, schema, code.

Recorded with every version so a model can be explained and rebuilt later: the same
objects (by S3 version id), the same contract and code give the same model bytes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

import lakeguard


def series_digest(times: list[Any], values: list[Any]) -> str:
    """Digest of a series' (time, value) pairs, in order."""
    text = "\n".join(f"{t},{v}" for t, v in zip(times, values, strict=True))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def schema_hash(schema: pa.Schema) -> str:
    """Digest of a table's column names and types (metadata ignored)."""
    text = "\n".join(f"{f.name}:{f.type}" for f in schema)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@cache
def code_version() -> str:
    """Package version plus a digest of the modelling code that fitted the model.

    Lambda assets carry no git metadata, so the source itself is hashed: a version that
    says ``0.1.0+3f2a...`` was fitted by exactly that code.
    """
    root = Path(lakeguard.__file__).parent
    digest = hashlib.sha256()
    for path in sorted((root / "ml").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{lakeguard.__version__}+{digest.hexdigest()[:12]}"
