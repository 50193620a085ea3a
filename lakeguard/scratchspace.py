"""The stages' local scratch disk (Lambda's ``/tmp``): a full one is a limit, not a bad file.

Clean spills the object's anonymised batches, its raw identifiers and its Parquet output
there, so a large object can fill it. That says nothing about the producer's file:
reported as :class:`~lakeguard.exceptions.ValidationFailed` it would send them looking
for a fault that is not theirs, and nobody would raise the limit.
"""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from lakeguard.exceptions import ScratchSpaceFull

#: What the kernel answers when a write finds no room (pyarrow's errors carry it too).
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@contextmanager
def scratch_space(what: str) -> Iterator[None]:
    """Turn a full scratch disk while writing ``what`` into :class:`ScratchSpaceFull`.

    The message names the directory and the fixes, never a file name or a value.
    """
    try:
        yield
    except OSError as err:
        if err.errno not in _FULL:
            raise
        raise ScratchSpaceFull(
            f"{what} do not fit in the local scratch disk ({tempfile.gettempdir()}): give the "
            "clean function more ephemeral storage, or lower lambda_max_bytes so that objects "
            "of this size go to the Glue job, then re-drive the object") from None
