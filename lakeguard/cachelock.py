"""One process at a time on a folder that several commands of one checkout fill.

Two commands started together from one checkout (``lakeguard local up`` beside
``lakeguard demo``, or the test suite's workers) would synthesize into the same
``cdk.out/local-<env>`` and fill the same ``.cache`` folders at once: the CDK stages assets
into the assembly file by file, and two extractions into one scratch folder delete each
other's files. The first holds the folder's lock and does the work; the others wait, then
find it done.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held(folder: Path) -> Iterator[None]:
    """Hold the lock of ``folder`` (the file ``<folder>.lock`` beside it) until the block ends.

    An advisory ``flock``: the kernel releases it when the process ends, however it ends, so
    a crashed command never leaves the folder locked.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
