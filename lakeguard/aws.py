"""The one AWS client factory: shared retry settings and the embedded-AWS endpoint.

No client is created at import time (Lambda cold starts stay short, and tests can point
``AWS_ENDPOINT_URL`` at the embedded AWS before the first call). Default clients are
cached per service, endpoint and region: building one costs tens of milliseconds, and a
stage makes hundreds of calls. They come from botocore, not boto3: importing boto3 also
imports s3transfer, a fifth of a handler's cold start, for managed transfers the stages
do not use (``bench/cold_start.py``). Callers holding a boto3 session (the CLI, with a
profile) still get their clients from it.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    import boto3

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5)
_CACHE: dict[tuple[str | None, ...], Any] = {}
_LOCK = threading.Lock()


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    """Return a client for ``service`` with lakeguard's retry policy.

    botocore honours ``AWS_ENDPOINT_URL`` itself, which is how the embedded AWS is reached.
    """
    if session is not None:
        return session.client(service, config=_RETRIES)  # type: ignore[call-overload]
    # AWS_DEFAULT_REGION first: it is what boto3 and the AWS CLI read (Lambda sets both).
    # The access key and profile are part of the key: a client keeps the credentials it was
    # built with (the CLI's --profile sets AWS_PROFILE).
    key = (service, os.environ.get("AWS_ENDPOINT_URL"),
           os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"),
           os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_PROFILE"))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = botocore.session.Session().create_client(
                service, region_name=key[2], config=_RETRIES)
        return _CACHE[key]
