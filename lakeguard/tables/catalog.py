"""The Glue Data Catalog through pyiceberg, honouring the embedded AWS's endpoint.

Iceberg commits go through Glue ``UpdateTable`` with the table's version as an optimistic
lock; data and metadata files through pyiceberg's S3 file IO (pyarrow). In AWS both use
the function's role (the default credential chain); against the embedded AWS both are
pointed at ``AWS_ENDPOINT_URL`` with path-style addressing and the fake keys.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

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
             "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"}
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
    from pyiceberg.catalog.glue import GlueCatalog

    key = (os.environ.get("AWS_ENDPOINT_URL"),
           os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = GlueCatalog("glue", **catalog_properties())  # type: ignore[arg-type]
        return _CACHE[key]
