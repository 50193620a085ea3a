"""Where the model registry keeps its documents: an S3 bucket or an exported folder.

The registry is a handful of JSON documents, so the same code serves a deployed
artefacts bucket, the embedded AWS and a lake exported to disk (``demo-out/artefacts``).
Writes are conditional (S3 ``If-Match`` / ``If-None-Match``), so two executions moving
the same alias at once cannot silently overwrite each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from lakeguard.aws import client
from lakeguard.exceptions import ModelError

if TYPE_CHECKING:
    import boto3


class ConflictError(ModelError):
    """A conditional write lost a race; re-read and try again."""


def encode(document: Any) -> bytes:
    """Canonical JSON bytes: identical content, identical bytes (byte-identical retrains)."""
    return json.dumps(document, sort_keys=True, indent=2, allow_nan=False).encode("utf-8")


class Store(Protocol):
    """Key-value documents with optimistic concurrency."""

    @property
    def location(self) -> str:
        """Where the documents are (``s3://bucket``, a folder): what tells stores apart."""
        ...

    def get(self, key: str) -> tuple[Any | None, str | None]:
        """The document at ``key`` and its tag (``None, None`` when absent)."""
        ...

    def put(self, key: str, document: Any, *, if_tag: str | None = None,
            if_absent: bool = False) -> bool:
        """Write; with ``if_absent`` return False when it exists; raise ConflictError if stale."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""
        ...


class S3Store:
    """The artefacts bucket of a deployment (or of the embedded AWS)."""

    def __init__(self, bucket: str, session: boto3.session.Session | None = None):
        self.bucket = bucket
        self._s3 = client("s3", session)

    @property
    def location(self) -> str:
        """``s3://<bucket>``."""
        return f"s3://{self.bucket}"

    def get(self, key: str) -> tuple[Any | None, str | None]:
        """Read a document and its ETag."""
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None, None
        return json.loads(obj["Body"].read()), str(obj["ETag"])

    def put(self, key: str, document: Any, *, if_tag: str | None = None,
            if_absent: bool = False) -> bool:
        """Conditional PutObject."""
        extra = {"IfMatch": if_tag} if if_tag else {"IfNoneMatch": "*"} if if_absent else {}
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=encode(document),
                                ContentType="application/json", **extra)
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            if if_absent:
                return False
            raise ConflictError(f"s3://{self.bucket}/{key} changed while it was being updated") from err
        return True

    def keys(self, prefix: str) -> list[str]:
        """List keys under a prefix."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


class FolderStore:
    """An artefacts zone exported to disk, e.g. ``demo-out/artefacts``."""

    def __init__(self, root: Path):
        if not root.is_dir():
            raise ModelError(f"{root} is not a folder; point --local at a lake exported by "
                             "`lakeguard demo` or `lakeguard local run --export DIR`")
        self.root = root

    @property
    def location(self) -> str:
        """The folder's absolute path."""
        return str(self.root.resolve())

    def get(self, key: str) -> tuple[Any | None, str | None]:
        """Read a document; its tag is its content."""
        path = self.root / key
        if not path.is_file():
            return None, None
        body = path.read_bytes()
        return json.loads(body), body.decode("utf-8")

    def put(self, key: str, document: Any, *, if_tag: str | None = None,
            if_absent: bool = False) -> bool:
        """Write a file (single writer: a local folder has no concurrent executions)."""
        path = self.root / key
        if if_absent and path.exists():
            return False
        if if_tag is not None and (not path.exists() or path.read_text("utf-8") != if_tag):
            raise ConflictError(f"{path} changed while it was being updated")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(document))
        return True

    def keys(self, prefix: str) -> list[str]:
        """List files under a prefix, as keys."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.glob("**/*")
                      if p.is_file() and str(p.relative_to(self.root)).startswith(prefix))
