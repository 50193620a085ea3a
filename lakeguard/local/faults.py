"""Ready-made faults for ``LocalLake.inject``: see what retries and quarantine do.

Each is a callable ``(handler, event) -> None`` run before a Lambda invocation on the
embedded AWS; it matches a stage by its handler (``lambdas.<stage>.handler``)::

    with lake.inject(fail("publish", times=2)):      # throttled twice, then succeeds
        lake.drop(path, "matches/")
    with lake.inject(fail("score", error=RuntimeError)):   # fails for good: quarantined
        lake.drop(path, "matches/")
    with lake.refuse_glue_runs(glue_busy("refine", times=1)):  # Glue at its run cap once
        lake.drop(large, "matches/")                         # (for an object routed to Glue)
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lakeguard.exceptions import TransientError

Fault = Callable[[str, dict[str, Any]], None]


def _is(stage: str, handler: str) -> bool:
    return handler == f"lambdas.{stage}.handler"


def fail(stage: str, error: type[Exception] = TransientError, times: int | None = None) -> Fault:
    """Raise ``error`` on the stage's next ``times`` invocations (every one when ``None``)."""
    left = [times]
    lock = threading.Lock()

    def fault(handler: str, event: dict[str, Any]) -> None:
        if not _is(stage, handler):
            return
        with lock:
            if left[0] is not None:
                if left[0] <= 0:
                    return
                left[0] -= 1
        raise error(f"injected fault in {stage}")

    return fault


def hold(stage: str, run_id: str, release: threading.Event, timeout: float = 120.0) -> Fault:
    """Make one run wait at the start of a stage until ``release`` is set (reordering)."""
    def fault(handler: str, event: dict[str, Any]) -> None:
        if _is(stage, handler) and event.get("run_id") == run_id:
            release.wait(timeout)

    return fault


def glue_busy(job: str, times: int = 1) -> Callable[[str], str | None]:
    """Answer ``ConcurrentRunsExceededException`` to the job's next ``times`` runs."""
    left = [times]
    lock = threading.Lock()

    def refusal(job_name: str) -> str | None:
        if not job_name.endswith(f"-{job}"):
            return None
        with lock:
            if left[0] <= 0:
                return None
            left[0] -= 1
        return "ConcurrentRunsExceededException"

    return refusal


class LambdaTimedOut(Exception):
    """What Lambda reports when a function runs out of time (``Sandbox.Timedout``)."""

    error_type = "Sandbox.Timedout"


def time_out(stage: str, times: int = 1) -> Fault:
    """Make the stage's next ``times`` invocations end as a Lambda timeout would."""
    return fail(stage, error=LambdaTimedOut, times=times)


#: The file the embedded lake's stages read planned crashes from (``LAKEGUARD_FAULTS``);
#: set by ``LocalLake.start``.
FAULTS_FILE: list[Path] = []


def _plans(update: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    import fcntl

    path = FAULTS_FILE[0]
    path.touch()
    with path.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        plans = update(json.loads(handle.read() or "[]"))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(plans))


@contextmanager
def crash_at(seam: str, error: type[Exception] = TransientError, times: int = 1,
             run_id: str | None = None) -> Iterator[None]:
    """Raise ``error`` the next ``times`` a stage passes ``seam`` (of ``run_id``, if given).

    Seams are named points inside a stage, between two of its writes (see
    :mod:`lakeguard.pipeline.seams`): ``commit:<table>:written`` (data files written, the
    table not committed), ``commit:<table>:done`` (the table committed),
    ``publish:committed`` (every table committed, the ledger not written) and
    ``publish:recorded`` (the ledger written). The stages run in their own processes: the
    plan goes to the lake's faults file, and a stage raises an error of the same type name,
    which is all Step Functions' Retry and Catch see.
    """
    plan = {"id": uuid.uuid4().hex, "seam": seam, "run_id": run_id, "left": times,
            "error": getattr(error, "error_type", error.__name__)}
    _plans(lambda plans: [*plans, plan])
    try:
        yield
    finally:
        _plans(lambda plans: [p for p in plans if p["id"] != plan["id"]])
