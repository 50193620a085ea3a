"""Named points inside a stage where a crash can be injected, to prove the commit protocol.

A crash between two writes is what breaks a commit protocol, and a Lambda can die at any
such point (a time-out, a throttled call that exhausted its retries). Each point a stage
passes calls :func:`seam` with its name and the run; in AWS no hook is registered and the
call does nothing. The embedded AWS registers hooks (``lakeguard.local.faults.crash_at``)
that raise at one named seam, so a test shows the data ending correct after that crash.
"""

from __future__ import annotations

from collections.abc import Callable

#: Called with (seam name, run id) at every seam; a hook that raises crashes the stage there.
HOOKS: list[Callable[[str, str], None]] = []


def seam(name: str, run_id: str) -> None:
    """Pass the named point of a stage (a no-op unless a fault was injected there)."""
    for hook in list(HOOKS):
        hook(name, run_id)
