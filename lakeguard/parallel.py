"""Run a function over a stream of batches on a few threads, results in input order.

Arrow's compute kernels and Parquet/IPC writers release the GIL, so a second core nearly
halves the time of a large object while the caller still sees batches in file order
(row numbers, rejects and output files come out as if one thread had done it all). At
most ``workers + 1`` batches are in flight, so memory stays bounded by a few batches
(one waiting per thread is enough to keep them busy; more only costs memory).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

#: More threads than this buy nothing: the Python parts of a batch hold the GIL.
MAX_WORKERS = 4


def default_workers() -> int:
    """The cores this process may run on (Lambda: 1 per 1,769 MB of memory), at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def ordered_map(function: Callable[[In], Out], items: Iterable[In],
                workers: int) -> Iterator[Out]:
    """``map(function, items)`` on ``workers`` threads, yielding results in input order.

    ``items`` is consumed on the caller's thread; an exception in ``function`` is raised
    here, at its item's turn, and the batches not yet started are cancelled.
    """
    if workers <= 1:
        yield from map(function, items)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lakeguard")
    pending: deque[Future[Out]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
