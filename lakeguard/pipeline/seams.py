"""Named points inside a stage where a crash can be injected, to prove the commit protocol.

A crash between two writes is what breaks a commit protocol, and a Lambda can die at any
such point (a time-out, a throttled call that exhausted its retries). Each point a stage
passes calls :func:`seam` with its name and the run; in AWS nothing is injected and the
call does nothing. The embedded AWS injects faults (``lakeguard.local.faults.crash_at``)
through a file named by ``LAKEGUARD_FAULTS``, since its stages run in their own
processes; ``HOOKS`` serves stages called in the same process (unit tests).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from lakeguard.config import ENV_FAULTS

#: Called with (seam name, run id) at every seam; a hook that raises crashes the stage there.
HOOKS: list[Callable[[str, str], None]] = []


class InjectedCrash(Exception):
    """A crash injected at a seam; its class is renamed to the error type asked for."""


def _injected(path: str, name: str, run_id: str) -> str | None:
    """Take one planned crash for this seam and run from the faults file, if any."""
    import fcntl

    try:
        handle = open(path, "r+", encoding="utf-8")  # noqa: SIM115 (held under the lock)
    except FileNotFoundError:
        return None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        faults = json.loads(handle.read() or "[]")
        for fault in faults:
            if fault["seam"] == name and fault.get("run_id") in (None, run_id) and fault["left"]:
                fault["left"] -= 1
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(faults))
                return str(fault["error"])
    return None


def seam(name: str, run_id: str) -> None:
    """Pass the named point of a stage (a no-op unless a fault was injected there)."""
    for hook in list(HOOKS):
        hook(name, run_id)
    path = os.environ.get(ENV_FAULTS)
    error = _injected(path, name, run_id) if path else None
    if error is not None:
        raise type(error, (InjectedCrash,), {})(f"injected crash at {name}")
