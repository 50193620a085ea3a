"""The one boto3 client factory: shared retry settings and the embedded-AWS endpoint.

No client is created at import time (Lambda cold starts stay short, and tests can point
``AWS_ENDPOINT_URL`` at the embedded AWS before the first call).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5)


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    """Return a client for ``service`` with lakeguard's retry policy.

    boto3 honours ``AWS_ENDPOINT_URL`` itself, which is how the embedded AWS is reached.
    """
    return (session or boto3.session.Session()).client(service, config=_RETRIES)  # type: ignore[call-overload]
