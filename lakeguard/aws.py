"""The one boto3 client factory: shared retry settings and the embedded-AWS endpoint.

No client is created at import time (Lambda cold starts stay short, and tests can point
``AWS_ENDPOINT_URL`` at the embedded AWS before the first call). Default clients are
cached per service, endpoint and region: building one costs tens of milliseconds, and a
stage makes hundreds of calls.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5)
_CACHE: dict[tuple[str, str | None, str | None], Any] = {}
_LOCK = threading.Lock()


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    """Return a client for ``service`` with lakeguard's retry policy.

    boto3 honours ``AWS_ENDPOINT_URL`` itself, which is how the embedded AWS is reached.
    """
    if session is not None:
        return session.client(service, config=_RETRIES)  # type: ignore[call-overload]
    key = (service, os.environ.get("AWS_ENDPOINT_URL"),
           os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = boto3.session.Session().client(service, config=_RETRIES)  # type: ignore[call-overload]
        return _CACHE[key]
