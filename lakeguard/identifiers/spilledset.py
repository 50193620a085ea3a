"""A set of raw identifiers whose memory does not grow with them: a Bloom filter, the values on disk.

The leak guard compares every distinct output cell with every whole raw identifier of the
object (:mod:`lakeguard.identifiers.rawvalues`). Held in memory, those grow with the people
in the object: 8.6 million NIR spellings of a 2 GB file of new people were 165 MiB, and
building them took as much again. Here they are gathered and kept on local disk (Lambda's
``/tmp``, the same scratch as the clean stage's other spill), and memory holds:

* a Bloom filter per set (:mod:`lakeguard.identifiers.bloom`: ~14.4 bits a value, one
  false positive in a thousand), which answers "surely not" for almost every cell;
* a sparse index: every :data:`FENCE`-th value of each sorted run on disk, so a "maybe"
  costs one read of at most :data:`FENCE` values, compared byte for byte.

The answer is exact: a cell is a member if and only if it is one of the values, the Bloom
filter only deciding which cells need the read. On disk the values are sorted fixed-width
byte strings, one run per byte length and hash bucket, as ``numpy`` compares them.

While the object is read, values are spooled to :data:`BUCKETS` files by hash, each
compacted (deduplicated) whenever it holds twice what it held after its last compaction,
so the spool stays within about twice the distinct values however often they repeat; at
the end one bucket at a time is deduplicated and sorted into the set's file. Memory
during the build is a bucket: a 64th of the distinct values.

The spill files hold raw identifiers in clear, and are **removed deterministically**, not
hashed: every one is an anonymous file (``tempfile.TemporaryFile``: ``O_TMPFILE`` on Linux,
so it never has a name in ``/tmp``, or is unlinked as soon as it is created), which the
kernel frees when its descriptor closes: when the set or builder is dropped, or when the
process ends, however it ends (a Lambda timeout or an out-of-memory kill included). Nothing
is left for the next invocation of a warm Lambda environment, and no other process can
open them by name.

Disk: each value takes its byte length twice at most while the object is read (spool and
set, the spool freed as the set is written), about the size of the identifier columns of
the object, within the clean function's 512 MB of ``/tmp`` for objects up to
``lambda_max_bytes`` (256 MB). A full disk raises
:class:`~lakeguard.exceptions.ScratchSpaceFull`, naming the fix.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.identifiers.bloom import (
    FALSE_POSITIVE_RATE,
    BloomFilter,
    BoolArray,
    Hashes,
    Rows,
    fixed_rows,
    hash_rows,
    hash_texts,
)
from lakeguard.scratchspace import scratch_space

#: Hash buckets the values are spooled into: the build holds one bucket in memory at a time.
BUCKETS = 64
#: Values per block of a sorted run: the index keeps one in FENCE, a lookup reads one block.
FENCE = 128
#: A bucket is compacted once it holds more than twice its distinct values, and this many.
COMPACT_AT = 1 << 15
_PREFIX = "lakeguard-identifiers-"


def _scratch() -> IO[bytes]:
    """An anonymous file in the temporary directory, gone when closed or the process ends."""
    return tempfile.TemporaryFile(buffering=0, prefix=_PREFIX)  # pread sees every write


def _append(file: IO[bytes], data: bytes | memoryview) -> int:
    """Write ``data`` at the end of ``file`` (unbuffered: loop on short writes); its offset."""
    with scratch_space("the raw identifiers of the object"):
        offset = file.seek(0, os.SEEK_END)
        view = memoryview(data).cast("B")
        while view:
            view = view[file.write(view):]
    return offset


def _binary(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.binary())


def _as_strings(rows: Rows) -> np.ndarray:  # type: ignore[type-arg]
    """Rows as numpy ``S<length>`` scalars, which sort and compare as their bytes do."""
    return np.ascontiguousarray(rows).view(f"S{rows.shape[1]}").ravel()


def _by_length(values: pa.Array) -> Iterator[tuple[int, pa.Array]]:
    """Non-empty ``values`` grouped by byte length, each group with the length."""
    lengths = pc.binary_length(values).to_numpy(zero_copy_only=False)
    order = np.argsort(lengths, kind="stable")
    grouped, counts = values.take(pa.array(order)), np.bincount(lengths)
    start = 0
    for length in np.flatnonzero(counts):
        count = int(counts[length])
        if length:
            yield int(length), grouped.slice(start, count)
        start += count


@dataclass(frozen=True)
class _Hashing:
    """The seeds of a set's two hashes (random per set)."""

    first: int
    second: int

    @classmethod
    def drawn(cls) -> _Hashing:
        return cls(secrets.randbits(64), secrets.randbits(64))

    def of(self, rows: Rows) -> tuple[Hashes, Hashes]:
        h1 = hash_rows(rows, self.first)
        return h1, hash_rows(rows, self.second)

    @staticmethod
    def bucket(h1: Hashes) -> np.ndarray:  # type: ignore[type-arg]
        return (h1 >> np.uint64(58)).astype(np.intp)  # top 6 bits: 64 buckets


assert BUCKETS == 64, "_Hashing.bucket takes the top 6 bits"


@dataclass(frozen=True)
class _Run:
    """One sorted run on disk: values of one byte length and hash bucket."""

    offset: int
    count: int
    fences: np.ndarray  # type: ignore[type-arg]  # every FENCE-th value, S<length>


class _Bucket:
    """One hash bucket of the spool: Arrow binary arrays appended to an anonymous file."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._segments: list[tuple[int, int, int]] = []  # (offset, values, data bytes)
        self._spooled = 0
        self._distinct = 0

    def append(self, values: pa.Array) -> None:
        if not len(values):
            return
        if self._file is None:
            self._file = _scratch()
        offsets = np.frombuffer(values.buffers()[1], np.int32, len(values) + 1, values.offset * 4)
        start, end = int(offsets[0]), int(offsets[-1])
        data = values.buffers()[2]
        position = _append(self._file, (offsets - offsets[0]).tobytes())
        _append(self._file, memoryview(data)[start:end] if data is not None else b"")
        self._segments.append((position, len(values), end - start))
        self._spooled += len(values)
        if self._spooled > max(2 * self._distinct, COMPACT_AT):
            self._compact()

    def distinct(self) -> pa.Array:
        """Every value spooled, once each (binary)."""
        if self._file is None:
            return pa.array([], pa.binary())
        fd = self._file.fileno()
        parts = []
        for position, count, size in self._segments:
            offsets = os.pread(fd, 4 * (count + 1), position)
            data = os.pread(fd, size, position + 4 * (count + 1))
            parts.append(pa.Array.from_buffers(pa.binary(), count,
                                               [None, pa.py_buffer(offsets), pa.py_buffer(data)]))
        return pc.unique(pa.concat_arrays(parts))

    def _compact(self) -> None:
        values = self.distinct()
        self.close()
        self._distinct = len(values)
        self.append(values)

    def close(self) -> None:
        """Free the spool file."""
        if self._file is not None:
            self._file.close()
        self._file, self._segments, self._spooled = None, [], 0


class SpilledSet:
    """An immutable set of non-empty byte strings, probed with Arrow arrays; see the module."""

    def __init__(self, file: IO[bytes] | None, runs: dict[tuple[int, int], _Run],
                 bloom: BloomFilter, hashing: _Hashing) -> None:
        self._file, self._runs, self._bloom, self._hashing = file, runs, bloom, hashing
        self._lengths = sorted({length for length, _ in runs})
        self._size = sum(run.count for run in runs.values())

    @classmethod
    def of(cls, values: pa.Array | pa.ChunkedArray,
           false_positive_rate: float = FALSE_POSITIVE_RATE) -> SpilledSet:
        """The set of ``values`` (nulls and empty strings left out)."""
        builder = SpilledSetBuilder(false_positive_rate)
        builder.add(values)
        return builder.build()

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    @property
    def nbytes(self) -> int:
        """Memory the set holds (Bloom filter and index); the values are on disk."""
        return self._bloom.nbytes + sum(run.fences.nbytes for run in self._runs.values())

    def contains(self, cells: pa.Array | pa.ChunkedArray) -> BoolArray:
        """For each cell: whether it is a member (a null cell is not)."""
        found: BoolArray = np.zeros(len(cells), dtype=np.bool_)
        if not self._size or not len(cells):
            return found
        data = _binary(cells)
        lengths = pc.fill_null(pc.binary_length(data), 0).to_numpy(zero_copy_only=False)
        for length in self._lengths:
            where = np.flatnonzero(lengths == length)
            if not where.size:
                continue
            rows = fixed_rows(data.take(pa.array(where)), length)
            h1, h2 = self._hashing.of(rows)
            maybe = self._bloom.might_contain(h1, h2)
            if maybe.any():
                found[where[maybe]] = self._on_disk(length, rows[maybe], h1[maybe])
        return found

    def _on_disk(self, length: int, rows: Rows, h1: Hashes) -> BoolArray:
        """The exact check of the Bloom filter's "maybe": one block read per block hit."""
        probes = _as_strings(rows)
        buckets = _Hashing.bucket(h1)
        found: BoolArray = np.zeros(len(probes), np.bool_)
        assert self._file is not None
        fd = self._file.fileno()
        for bucket in np.unique(buckets):
            run = self._runs.get((length, int(bucket)))
            if run is None:
                continue
            mine = np.flatnonzero(buckets == bucket)
            blocks = np.searchsorted(run.fences, probes[mine], side="right") - 1
            for block in np.unique(blocks[blocks >= 0]):
                first = int(block) * FENCE
                count = min(FENCE, run.count - first)
                members = np.frombuffer(os.pread(fd, count * length, run.offset + first * length),
                                        f"S{length}")
                asked = mine[blocks == block]
                at = np.minimum(np.searchsorted(members, probes[asked]), count - 1)
                found[asked] = members[at] == probes[asked]
        return found

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (for Spark's workers) with the values inline; the copy spills them anew."""
        data = b""
        if self._file is not None:
            self._file.seek(0)
            data = self._file.read()
        return _restored, (data, self._runs, self._bloom, self._hashing)


def _restored(data: bytes, runs: dict[tuple[int, int], _Run], bloom: BloomFilter,
              hashing: _Hashing) -> SpilledSet:
    file = None
    if data:
        file = _scratch()
        _append(file, data)
    return SpilledSet(file, runs, bloom, hashing)


class SpilledSetBuilder:
    """Gathers the values of a :class:`SpilledSet` in batches, spooled to disk by hash."""

    def __init__(self, false_positive_rate: float = FALSE_POSITIVE_RATE) -> None:
        self._rate = false_positive_rate
        self._hashing = _Hashing.drawn()
        self._buckets = [_Bucket() for _ in range(BUCKETS)]

    def add(self, values: pa.Array | pa.ChunkedArray) -> None:
        """Spool ``values`` (strings or bytes; nulls and empty ones left out)."""
        data = pc.unique(_binary(values).drop_null())
        bucket_of = _Hashing.bucket(hash_texts(data, self._hashing.first))
        empty = pc.binary_length(data).to_numpy(zero_copy_only=False) == 0
        order = np.argsort(np.where(empty, BUCKETS, bucket_of), kind="stable")
        spread = data.take(pa.array(order))
        counts = np.bincount(bucket_of[~empty], minlength=BUCKETS)
        start = 0
        for bucket, count in zip(self._buckets, counts, strict=True):
            bucket.append(spread.slice(start, int(count)))
            start += int(count)

    def build(self) -> SpilledSet:
        """Sort each bucket's distinct values into the set's file; spool files are freed."""
        file = _scratch()
        runs: dict[tuple[int, int], _Run] = {}
        for number, bucket in enumerate(self._buckets):
            values = bucket.distinct()
            bucket.close()
            for length, group in _by_length(values):
                members = np.sort(_as_strings(fixed_rows(group, length)))
                offset = _append(file, members.tobytes())
                runs[(length, number)] = _Run(offset, len(members), members[::FENCE].copy())
        bloom = BloomFilter(sum(run.count for run in runs.values()), self._rate)
        for (length, _), run in runs.items():  # read back: the filter is sized by the total
            for first in range(0, run.count, 1 << 16):
                count = min(1 << 16, run.count - first)
                block = os.pread(file.fileno(), count * length, run.offset + first * length)
                bloom.add(*self._hashing.of(np.frombuffer(block, np.uint8).reshape(count,
                                                                                   length)))
        return SpilledSet(file if runs else None, runs, bloom, self._hashing)
