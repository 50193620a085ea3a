"""Small I/O for job drivers, on ``s3://`` URIs (Glue) and local paths alike.

The embedded AWS stages job inputs and outputs through local files, so a driver must not
care which it was given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lakeguard.aws import client
from lakeguard.s3io import split_uri


def write_json(document: dict[str, Any], uri: str) -> None:
    """Write a JSON document to an ``s3://`` URI or a local path."""
    body = json.dumps(document, sort_keys=True, indent=2)
    if uri.startswith("s3://"):
        bucket, key = split_uri(uri)
        client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    else:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        Path(uri).write_text(body, encoding="utf-8")
