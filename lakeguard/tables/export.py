"""Tables of a lake exported to disk (``lakeguard demo``, ``local run --export``), read offline.

An export copies each zone bucket to ``DIR/<zone>/`` with its keys, Iceberg metadata and
data files included, and writes ``catalog.json``: each table's metadata location (what
Glue held) and which bucket each zone was. :class:`ExportFileIO` maps the ``s3://`` paths
inside the metadata to those folders, so pyiceberg plans and reads the exported snapshot
exactly as it would in S3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

from lakeguard.exceptions import LakeguardError
from lakeguard.tables.spec import Names

if TYPE_CHECKING:
    from pyiceberg.table import StaticTable

CATALOG_FILE = "catalog.json"
_ROOT, _BUCKETS = "lakeguard.export-root", "lakeguard.export-buckets"


class ExportFileIO(PyArrowFileIO):
    """pyiceberg file IO that reads ``s3://<zone bucket>/<key>`` from ``<root>/<zone>/<key>``."""

    def local_path(self, location: str) -> str:
        """The exported file standing for an ``s3://`` location."""
        if not location.startswith("s3://"):
            return location
        bucket, _, key = location[5:].partition("/")
        zones: dict[str, str] = json.loads(self.properties[_BUCKETS])
        if bucket not in zones:
            raise LakeguardError(f"{location}: bucket {bucket} is not one of the exported zones")
        return str(Path(self.properties[_ROOT]) / zones[bucket] / key)

    def new_input(self, location: str) -> PyArrowFile:
        """Open the exported copy of a file."""
        return super().new_input(self.local_path(location))


def read_catalog(folder: Path) -> dict[str, Any]:
    """The export's ``catalog.json``, or an error saying how to make one."""
    path = folder / CATALOG_FILE
    if not path.is_file():
        raise LakeguardError(f"{folder} has no {CATALOG_FILE}: point --local at a lake exported "
                             "by `lakeguard demo` or `lakeguard local run --export DIR`")
    catalog: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return catalog


def exported_table(folder: Path, table: str, catalog: dict[str, Any] | None = None
                   ) -> StaticTable:
    """One exported table (``zone/name``) as of the export."""
    from pyiceberg.table import StaticTable

    catalog = catalog or read_catalog(folder)
    zones = {bucket: zone for zone, bucket in catalog["buckets"].items()}
    return StaticTable.from_metadata(catalog["tables"][table], {
        "py-io-impl": f"{ExportFileIO.__module__}.{ExportFileIO.__name__}",
        _ROOT: str(folder.resolve()), _BUCKETS: json.dumps(zones)})


def current_files(table: StaticTable) -> list[str]:
    """Local paths of the data files of the table's current snapshot."""
    io = table.io
    assert isinstance(io, ExportFileIO)
    if table.current_snapshot() is None:
        return []
    return [io.local_path(task.file.file_path) for task in table.scan().plan_files()]


def describe_catalog(names: Names) -> dict[str, Any]:
    """What ``catalog.json`` holds for a deployment.

    The zone buckets, each table's current metadata file, and what is left under the
    zones' staging prefix (which an export does not copy).
    """
    from lakeguard.aws import client
    from lakeguard.config import STAGING_PREFIX
    from lakeguard.s3io import list_keys
    from lakeguard.tables.spec import CLEAN, REFINED, all_tables

    glue = client("glue")
    metadata = {}
    for spec in all_tables():
        database, name = spec.identifier(names)
        parameters = glue.get_table(DatabaseName=database, Name=name)["Table"].get("Parameters", {})
        metadata[spec.key] = parameters["metadata_location"]
    staging = [f"{zone}/{key}" for zone in (CLEAN, REFINED)
               for key in list_keys(names.bucket(zone), f"{STAGING_PREFIX}/")]
    return {"buckets": {CLEAN: names.clean_bucket, REFINED: names.refined_bucket},
            "tables": metadata, "staging": staging}
