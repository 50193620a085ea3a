"""The Glue Data Catalog through pyiceberg, honouring the embedded AWS's endpoint.

Iceberg commits go through Glue ``UpdateTable`` with the table's version as an optimistic
lock; data and metadata files through pyiceberg's S3 file IO (pyarrow), small files in
one request each (:mod:`lakeguard.tables.fileio`). In AWS both use
the function's role (the default credential chain); against the embedded AWS both are
pointed at ``AWS_ENDPOINT_URL`` with path-style addressing and the fake keys.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyiceberg.catalog.glue import GlueCatalog

_CACHE: dict[tuple[str | None, str | None], GlueCatalog] = {}
_LOCK = threading.Lock()


def catalog_properties() -> dict[str, str]:
    """Pyiceberg catalog properties for this process's AWS (the real one, or the embedded one).

    ``s3.region`` is always set: without it pyiceberg asks AWS where each bucket lives.
    """
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    props = {"glue.region": region, "s3.region": region,
             "py-io-impl": "lakeguard.tables.fileio.LakeFileIO"}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        props |= {"glue.endpoint": endpoint, "s3.endpoint": endpoint,
                  "s3.force-virtual-addressing": "false"}
        for prefix in ("glue", "s3"):
            for variable, name in (("AWS_ACCESS_KEY_ID", "access-key-id"),
                                   ("AWS_SECRET_ACCESS_KEY", "secret-access-key"),
                                   ("AWS_SESSION_TOKEN", "session-token")):
                if os.environ.get(variable):
                    props[f"{prefix}.{name}"] = os.environ[variable]
    return props


def glue_catalog() -> GlueCatalog:
    """The Glue catalog of this process's AWS, built once per endpoint and region."""
    key = (os.environ.get("AWS_ENDPOINT_URL"),
           os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _lake_catalog()("glue", **catalog_properties())  # type: ignore[arg-type]
        return _CACHE[key]


def _lake_catalog() -> type[GlueCatalog]:
    """The Glue catalog, where losing a race on a table's sequence number is a lost race.

    A commit to ``main`` asserts main's snapshot, not the table's last sequence number,
    which a Spark job's commit to a run's branch also advances. pyiceberg then refuses to
    apply our stale snapshot with a ValueError; it is a lost race like any other, so it
    becomes the :class:`CommitFailedException` every committer retries on fresh metadata.
    """
    from pyiceberg.catalog.glue import GlueCatalog
    from pyiceberg.exceptions import CommitFailedException

    class LakeGlueCatalog(GlueCatalog):
        def commit_table(self, table: Any, requirements: Any, updates: Any) -> Any:
            try:
                return super().commit_table(table, requirements, updates)
            except ValueError as err:
                if "older than last sequence number" not in str(err):
                    raise
                raise CommitFailedException(f"{'.'.join(table.name())}: another commit "
                                            f"advanced the table meanwhile ({err})") from err

    return LakeGlueCatalog
