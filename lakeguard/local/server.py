"""Start moto in server mode, in this process, on a free port, with Step Functions executing."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import requests

from lakeguard.exceptions import LocalRuntimeError
from lakeguard.local.cloudformation import REGION

ENV_PORT = "LAKEGUARD_LOCAL_PORT"


@dataclass
class EmbeddedAws:
    """A running moto server and the endpoint clients must use."""

    port: int
    server: object

    @property
    def endpoint(self) -> str:
        """The URL every boto3 client is pointed at."""
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        """Stop the server (its state is lost)."""
        self.server.stop()  # type: ignore[attr-defined]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A port nothing listens on now (the operating system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_embedded_aws(port: int | None = None) -> EmbeddedAws:
    """Start the server and point this process's AWS clients at it.

    The port is ``port``, else ``$LAKEGUARD_LOCAL_PORT``, else a free one; it is exported
    as ``MOTO_PORT`` because Step Functions' interpreter calls other services at
    ``localhost:$MOTO_PORT``. The region is fixed; credentials are set by the caller.
    """
    from moto.server import ThreadedMotoServer

    if port is None and os.environ.get(ENV_PORT):
        port = int(os.environ[ENV_PORT])
    chosen = free_port() if port is None else port
    if not _port_free(chosen):
        raise LocalRuntimeError(
            f"port {chosen} is in use: stop what listens there, or unset {ENV_PORT} to let "
            "the embedded AWS pick a free port"
        )
    os.environ.update({
        "AWS_ENDPOINT_URL": f"http://localhost:{chosen}",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "MOTO_PORT": str(chosen),
    })
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=chosen, verbose=False)
    server.start()
    embedded = EmbeddedAws(chosen, server)
    response = requests.post(f"{embedded.endpoint}/moto-api/config",
                             json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
    if not response.ok:
        raise LocalRuntimeError(f"moto refused its configuration: {response.text}")
    return embedded
