"""A set of strings in about one byte of memory per byte of value, probed in C.

The leak guard compares every output cell with every raw identifier of the object. Held
as a Python ``set`` or ``dict`` of ``str``, each identifier costs ~80 bytes of object
overhead on top of its text, so an object with a million people held ~100 MB more than
one with the same rows and fewer people (``bench/memory.py``). Here the values are kept
as sorted fixed-width byte arrays, one per byte length (no padding, hence exact), and a
batch of cells is looked up with one binary search per length group in numpy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]


def _fixed_width(values: pa.Array, length: int) -> np.ndarray:  # type: ignore[type-arg]
    """Values all ``length`` bytes long, as a numpy ``S<length>`` view of Arrow's buffer."""
    fixed = values.cast(pa.binary(length))
    data = fixed.buffers()[1]
    assert data is not None
    return np.frombuffer(data, dtype=f"S{length}", count=len(fixed), offset=fixed.offset * length)


def _as_binary(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.binary())


class StringSet:
    """An immutable set of non-empty strings, built from and probed with Arrow arrays."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        data = pc.unique(_as_binary(values).drop_null())
        lengths = pc.binary_length(data)
        self._by_length: dict[int, np.ndarray] = {}  # type: ignore[type-arg]
        for length in pc.unique(lengths).to_pylist():
            if length:
                members = _fixed_width(data.filter(pc.equal(lengths, length)), length)
                self._by_length[length] = np.sort(members)
        self._size = sum(len(m) for m in self._by_length.values())

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    @property
    def nbytes(self) -> int:
        """Memory the members hold."""
        return sum(m.nbytes for m in self._by_length.values())

    def contains(self, cells: pa.Array | pa.ChunkedArray) -> BoolArray:
        """For each cell: whether it is a member (a null cell is not)."""
        found: BoolArray = np.zeros(len(cells), dtype=np.bool_)
        if not self._size or not len(cells):
            return found
        data = _as_binary(cells)
        lengths = pc.fill_null(pc.binary_length(data), 0).to_numpy(zero_copy_only=False)
        for length, members in self._by_length.items():
            where = np.flatnonzero(lengths == length)
            if not where.size:
                continue
            probe = _fixed_width(data.take(pa.array(where)), length)
            at = np.minimum(np.searchsorted(members, probe), len(members) - 1)
            found[where] = members[at] == probe
        return found
