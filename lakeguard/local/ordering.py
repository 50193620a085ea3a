"""Files dropped a few at a time, with the results of dropping them one by one.

Executions of different raw objects are independent, in AWS and here: they run at once.
What a run reads of the lake as published is not. The model stages read the model
table's current snapshot (an entity's history) and the registry's champion, and Publish
commits on top of the snapshot. Dropped one by one, file N's models see files 1..N-1
published and no later one; dropped at once they would see whichever had finished, and
the champions, the anomalies and the order of the snapshots would change from run to run.

:class:`InOrder` holds a run before the first of ``HELD_STAGES`` it reaches until every
run added before it has ended, so models, anomalies and commits are the one-by-one
run's, while Validate, Clean, the quality gate and Refine of the next files run meanwhile.
The quality gate is not held: it weighs a file against what is published, so files that
repeat each other's rows are only told apart as they would be in a burst (Publish's
natural-key checks, ``tests/e2e/test_burst.py``). ``lakeguard demo`` runs its seasons so
(they share no rows); ``local run`` keeps to one file at a time.

A run has ended when Publish or Quarantine answered without an error (Publish failing
for good is caught and quarantined, a transient failure retried), or when its caller saw
its execution end (:meth:`InOrder.ended`, for an execution that ended some other way).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lakeguard.exceptions import LocalRuntimeError

#: Stages that read or change what is published: a run waits before the first it reaches.
HELD_STAGES = frozenset({"check_model", "publish"})
#: Stages whose answer without an error ends a run's effect on the lake.
FINAL_STAGES = frozenset({"publish", "quarantine"})


def stage_of(handler: str) -> str:
    """``lambdas.publish.handler`` -> ``publish``; any other handler is its own name."""
    parts = handler.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "lambdas" else handler


class InOrder:
    """Invocation hooks that hold runs at the held stages until the runs before them ended.

    Runs are added in the order their files are given, each as its object is put
    (:meth:`adding`: a run's id is known once S3 has given its object a version, and until
    it is added, held stages of runs not yet known wait). A run never added (another
    producer's drop) is never held and holds nobody.
    """

    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = timeout
        self._runs: list[str] = []
        self._place: dict[str, int] = {}
        self._ended: list[threading.Event] = []
        self._adding = 0
        self._changed = threading.Condition()

    @contextmanager
    def adding(self) -> Iterator[Callable[[str], None]]:
        """While the block puts an object, ``add`` its run (the next in the order) to call."""
        with self._changed:
            self._adding += 1
        try:
            yield self._add
        finally:
            with self._changed:
                self._adding -= 1
                self._changed.notify_all()

    def _add(self, run: str) -> None:
        with self._changed:
            if run not in self._place:  # a run added twice keeps its first place
                self._place[run] = len(self._runs)
                self._runs.append(run)
                self._ended.append(threading.Event())
            self._changed.notify_all()

    def ended(self, run: str) -> None:
        """Mark ``run`` as ended: the runs after it may go on."""
        with self._changed:
            place = self._place.get(run)
        if place is not None:
            self._ended[place].set()

    def before_invoke(self, handler: str, event: dict[str, Any]) -> None:
        """At a held stage, wait until every run added before this one has ended."""
        if stage_of(handler) not in HELD_STAGES:
            return
        run = str(event.get("run_id"))
        with self._changed:  # a run being added now may be this one
            self._changed.wait_for(lambda: run in self._place or not self._adding,
                                   self.timeout)
            place = self._place.get(run)
            earlier = list(zip(self._runs[:place], self._ended[:place], strict=True)) \
                if place is not None else []
        for before, ended in earlier:
            if not ended.wait(self.timeout):
                raise LocalRuntimeError(
                    f"run {run} waited {self.timeout:.0f} s at {stage_of(handler)} for run "
                    f"{before}, dropped before it, to end; see that run's execution history "
                    "and the functions' logs")

    def after_invoke(self, handler: str, event: dict[str, Any], reply: dict[str, Any]) -> None:
        """A run has ended when Publish or Quarantine answered without an error."""
        if stage_of(handler) in FINAL_STAGES and "errorType" not in reply:
            self.ended(str(event.get("run_id")))
