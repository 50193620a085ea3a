"""A Bloom filter over byte strings of one length, hashed in numpy a column of words at a time.

The leak guard asks, for every distinct output cell, whether it equals a raw identifier
of the object. Most cells do not, and a Bloom filter says so in memory, in about 14 bits a
value at one false positive in a thousand (:data:`FALSE_POSITIVE_RATE`), against ~20 bytes
a value to hold the identifiers themselves; only the rare "maybe" is checked exactly
(:mod:`lakeguard.identifiers.spilledset`). A "no" is always right, so the guard loses
nothing: false positives cost a lookup, never a decision.

Values of one byte length are hashed together: their bytes, padded with zeros to whole
64-bit words, are mixed word by word (MurMur3's 64-bit constants and finaliser), so a
million values cost a few dozen numpy operations rather than a million Python calls. The
seeds are drawn at random per filter: which cells cost a lookup cannot be planned.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Share of cells that are not identifiers but that the filter sends to the exact check.
FALSE_POSITIVE_RATE = 1e-3

Rows = np.ndarray[tuple[int, int], np.dtype[np.uint8]]
Hashes = np.ndarray[tuple[int], np.dtype[np.uint64]]
BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]

_C1 = np.uint64(0x87C37B91114253D5)
_C2 = np.uint64(0x4CF5AD432745937F)
_F1 = np.uint64(0xFF51AFD7ED558CCD)
_F2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ADD = np.uint64(0x52DCE729)
_FIVE = np.uint64(5)
#: Positions are 32-bit (512 MiB of bits, ~300 million values at the default rate).
_MAX_BITS = 1 << 32


def _rotl(values: Hashes, bits: int) -> Hashes:
    left: Hashes = (values << np.uint64(bits)) | (values >> np.uint64(64 - bits))
    return left


def _finalise(h: Hashes) -> Hashes:
    """MurMur3's fmix64: every input bit reaches every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * _F1
    h = h ^ (h >> np.uint64(33))
    h = h * _F2
    mixed: Hashes = h ^ (h >> np.uint64(33))
    return mixed


def hash_rows(rows: Rows, seed: int) -> Hashes:
    """One 64-bit hash per row of ``rows`` (values of one byte length, one per row)."""
    count, length = rows.shape
    width = -(-length // 8) * 8
    if width != length or not rows.flags.c_contiguous:
        padded = np.zeros((count, width), np.uint8)
        padded[:, :length] = rows
        rows = padded
    words = rows.view("<u8")
    start = (seed ^ length * int(_GOLDEN)) & (1 << 64) - 1
    h: Hashes = np.full(count, start, np.uint64)
    for column in words.T:
        k = _rotl(column * _C1, 31) * _C2
        h = _rotl(h ^ k, 27) * _FIVE + _ADD
    return _finalise(h ^ np.uint64(length))


def fixed_rows(values: pa.Array, length: int) -> Rows:
    """Non-null values all ``length`` bytes long, as a ``(n, length)`` view of Arrow's buffer."""
    fixed = values.cast(pa.binary(length))
    data = fixed.buffers()[1]
    assert data is not None
    rows: Rows = np.frombuffer(data, np.uint8, count=len(fixed) * length,
                               offset=fixed.offset * length).reshape(len(fixed), length)
    return rows


def hash_texts(values: pa.Array | pa.ChunkedArray, seed: int) -> Hashes:
    """One 64-bit hash per value of a string or binary array without nulls, in its order.

    Values are grouped by byte length and each group goes through :func:`hash_rows` (the
    length is mixed in, so ``""`` is a value like any other).
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    data = values.cast(pa.binary())
    lengths = pc.binary_length(data).to_numpy(zero_copy_only=False)
    order = np.argsort(lengths, kind="stable")
    grouped = data.take(pa.array(order))
    hashes: Hashes = np.empty(len(data), np.uint64)
    start = 0
    for length, count in enumerate(np.bincount(lengths).tolist()):
        if count:
            rows = fixed_rows(grouped.slice(start, count), length)
            hashes[order[start:start + count]] = hash_rows(rows, seed)
            start += count
    return hashes


class BloomFilter:
    """A fixed-size Bloom filter fed and probed with pairs of 64-bit hashes.

    Sized for ``count`` values at ``false_positive_rate``: ``-ln(rate) / ln(2)^2`` bits a
    value and ``bits * ln(2)`` probes (14.4 bits and 10 probes at one in a thousand). The
    probes are ``h1 + i * h2`` (Kirsch and Mitzenmacher: as good as independent hashes).
    """

    def __init__(self, count: int, false_positive_rate: float = FALSE_POSITIVE_RATE) -> None:
        per_value = -math.log(false_positive_rate) / math.log(2) ** 2
        self.size = min(max(64, math.ceil(count * per_value)), _MAX_BITS)
        self.probes = max(1, round(per_value * math.log(2)))
        self._words = np.zeros(-(-self.size // 64), np.uint64)

    @property
    def nbytes(self) -> int:
        """Memory the bits hold."""
        return int(self._words.nbytes)

    def _positions(self, h1: Hashes, step: Hashes, probe: int) -> Hashes:
        """One probe's bits: its hash's top 32 bits scaled to the size (no division)."""
        mixed = h1 + np.uint64(probe) * step
        positions: Hashes = ((mixed >> np.uint64(32)) * np.uint64(self.size)) >> np.uint64(32)
        return positions

    def add(self, h1: Hashes, h2: Hashes) -> None:
        """Set the bits of the values hashed to ``h1`` and ``h2``."""
        step = h2 | np.uint64(1)
        for probe in range(self.probes):
            positions = self._positions(h1, step, probe)
            np.bitwise_or.at(self._words, (positions >> np.uint64(6)).astype(np.intp),
                             np.uint64(1) << (positions & np.uint64(63)))

    def might_contain(self, h1: Hashes, h2: Hashes) -> BoolArray:
        """False where a value is surely absent; true where it may be present."""
        found: BoolArray = np.ones(len(h1), np.bool_)
        step = h2 | np.uint64(1)
        for probe in range(self.probes):
            positions = self._positions(h1, step, probe)
            words = self._words[(positions >> np.uint64(6)).astype(np.intp)]
            found &= (words >> (positions & np.uint64(63))) & np.uint64(1) == np.uint64(1)
        return found
