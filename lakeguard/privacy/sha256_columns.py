"""HMAC-SHA256 over a whole column at once, in numpy: one lane per value.

Pseudonyms were ``hashlib`` states copied and updated in a Python loop: one value at a
time, the GIL held throughout, so the anonymise step's two batch threads took turns.
Here SHA-256 (FIPS 180-4) runs its 64 rounds on numpy arrays holding one 32-bit word per
value: each round is a few dozen array operations over up to :data:`_LANES` values,
and numpy releases the GIL while it works. The key pads are compressed once per key, so
a value of up to 55 UTF-8 bytes costs two compressions (its own block, then the outer
hash). Measured on 65,536 NIRs (best of 5, one thread): 1.55 µs a value, against 1.78 µs
for the ``hashlib`` loop; the gain is mostly that both cores hash at once. numpy is
already in the Lambda layer: no new dependency, nothing to compile on the user's machine.
:func:`hmac_sha256_hex` is pinned to ``hmac.new`` by a property test.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Words = npt.NDArray[np.uint32]

_K = np.array([
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4,
    0xAB1C5ED5, 0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE,
    0x9BDC06A7, 0xC19BF174, 0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F,
    0x4A7484AA, 0x5CB0A9DC, 0x76F988DA, 0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7,
    0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967, 0x27B70A85, 0x2E1B2138, 0x4D2C6DFC,
    0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85, 0xA2BFE8A1, 0xA81A664B,
    0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070, 0x19A4C116,
    0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7,
    0xC67178F2], dtype=np.uint32)
_IV = np.array([0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C,
                0x1F83D9AB, 0x5BE0CD19], dtype=np.uint32)
_BLOCK = 64
#: Values hashed together: enough to amortise numpy's per-call cost, few enough that
#: the round's arrays stay in cache (16384 was the fastest of 2k-64k on this machine).
_LANES = 16384
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class _Scratch:
    """Work arrays of one compression, reused by every round: numpy then allocates nothing."""

    def __init__(self, lanes: int) -> None:
        self.parts = [np.empty(lanes, dtype=np.uint32) for _ in range(4)]

    def sigma(self, x: Words, r1: int, r2: int, r3: int, shift: bool, out: Words) -> Words:
        """``rotr(x, r1) ^ rotr(x, r2) ^ (x >> r3 if shift else rotr(x, r3))`` into ``out``."""
        low, high = self.parts[0], self.parts[1]
        np.right_shift(x, np.uint32(r1), out=out)
        np.left_shift(x, np.uint32(32 - r1), out=high)
        np.bitwise_or(out, high, out=out)
        for rotation in (r2, r3):
            np.right_shift(x, np.uint32(rotation), out=low)
            np.bitwise_xor(out, low, out=out)
            if rotation == r3 and shift:
                break
            np.left_shift(x, np.uint32(32 - rotation), out=high)
            np.bitwise_xor(out, high, out=out)
        return out


def _compress(state: Words, block: Words) -> Words:
    """One SHA-256 compression: ``state`` (8, n) or (8, 1), ``block`` (16, n) words.

    The message schedule is kept as a ring of 16 words (rounds 16-63 overwrite the word
    they no longer need), so the working set stays in cache.
    """
    lanes = block.shape[1]
    scratch = _Scratch(lanes)
    ring = block.copy()
    s_big, s_small = scratch.parts[2], scratch.parts[3]
    first, second = np.empty(lanes, dtype=np.uint32), np.empty(lanes, dtype=np.uint32)
    work = [np.array(np.broadcast_to(s, (lanes,)), dtype=np.uint32) for s in state]
    a, b, c, d, e, f, g, h = work
    for t in range(64):
        w = ring[t % 16]
        if t >= 16:
            w += scratch.sigma(ring[(t - 15) % 16], 7, 18, 3, True, s_small)
            w += ring[(t - 7) % 16]
            w += scratch.sigma(ring[(t - 2) % 16], 17, 19, 10, True, s_small)
        # first = h + S1(e) + ch(e, f, g) + K[t] + w
        np.add(h, scratch.sigma(e, 6, 11, 25, False, s_big), out=first)
        np.bitwise_xor(f, g, out=s_small)
        np.bitwise_and(s_small, e, out=s_small)
        np.bitwise_xor(s_small, g, out=s_small)  # ch = g ^ (e & (f ^ g))
        first += s_small
        first += _K[t]
        first += w
        # second = S0(a) + maj(a, b, c)
        scratch.sigma(a, 2, 13, 22, False, second)
        np.bitwise_or(a, b, out=s_small)
        np.bitwise_and(s_small, c, out=s_small)
        np.bitwise_and(a, b, out=s_big)
        np.bitwise_or(s_small, s_big, out=s_small)  # maj = (a & b) | (c & (a | b))
        second += s_small
        # rotate: h is free now and takes the new a; d takes the new e
        d += first
        np.add(first, second, out=h)
        a, b, c, d, e, f, g, h = h, a, b, c, d, e, f, g
    return state + np.stack([a, b, c, d, e, f, g, h])  # type: ignore[no-any-return]


def _words(blocks: npt.NDArray[np.uint8]) -> Words:
    """(n, 64 * blocks) bytes -> (16 * blocks, n) big-endian words, one column per value."""
    return blocks.view(">u4").astype(np.uint32).T.copy()


def pad_states(pads: tuple[bytes, bytes]) -> tuple[Words, Words]:
    """The states after compressing the 64-byte inner and outer key pads.

    Computed once per key (and as secret as the key), shaped to broadcast over values.
    """
    inner, outer = (_compress(_IV.reshape(8, 1),
                              _words(np.frombuffer(pad, dtype=np.uint8).reshape(1, _BLOCK)))
                    for pad in pads)
    return inner, outer


def _padded(data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64],
            lengths: npt.NDArray[np.int64], blocks: int, prefix: int) -> npt.NDArray[np.uint8]:
    """Messages of one block count, SHA-padded, after ``prefix`` bytes already hashed."""
    count = len(starts)
    out = np.zeros((count, blocks * _BLOCK), dtype=np.uint8)
    if count == 0:
        return out
    rows = np.repeat(np.arange(count), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, within] = data[np.repeat(starts, lengths) + within]
    out[np.arange(count), lengths] = 0x80
    bits = ((lengths + prefix) * 8).astype(">u8").view(np.uint8).reshape(count, 8)
    out[:, -8:] = bits
    return out


def _digests(inner: Words, outer: Words, data: npt.NDArray[np.uint8],
             starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> Words:
    """HMAC states (8, n) of the values at ``starts``/``lengths`` in ``data``.

    Values are hashed :data:`_LANES` at a time, grouped by their number of blocks.
    """
    result = np.empty((8, len(starts)), dtype=np.uint32)
    needed = (lengths + 9 + _BLOCK - 1) // _BLOCK
    tail = np.zeros(32, dtype=np.uint8)  # the outer message's padding after the digest
    tail[0] = 0x80
    tail[-2:] = np.frombuffer(((_BLOCK + 32) * 8).to_bytes(2, "big"), dtype=np.uint8)
    for blocks in np.unique(needed).tolist():
        group = np.flatnonzero(needed == blocks)
        for begin in range(0, len(group), _LANES):
            chosen = group[begin:begin + _LANES]
            words = _words(_padded(data, starts[chosen], lengths[chosen], blocks, _BLOCK))
            state = inner
            for block in range(blocks):
                state = _compress(state, words[16 * block:16 * (block + 1)])
            digest = np.ascontiguousarray(state.T, dtype=">u4").view(np.uint8)
            message = np.concatenate([digest, np.broadcast_to(tail, digest.shape)], axis=1)
            result[:, chosen] = _compress(outer, _words(message))
    return result


def hmac_sha256_hex(pads: tuple[Words, Words], values: pa.Array, length: int) -> pa.Array:
    """``hmac.new(key, v.encode(), sha256).hexdigest()[:length]`` for every value.

    ``pads`` are the key's inner and outer pad states (:func:`pad_states`); ``values``
    hold no null (a caller hashes the distinct values of a dictionary-encoded column);
    ``length`` is even, at most 64.
    """
    if values.null_count or not 0 < length <= 64 or length % 2:
        raise ValueError(f"hmac_sha256_hex takes non-null values and an even length up to "
                         f"64 (got {values.null_count} null(s), length {length})")
    text = pc.cast(values, pa.large_string())
    count = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:
                                                                text.offset + count + 1]
    data_buffer = text.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None \
        else np.zeros(0, dtype=np.uint8)
    inner, outer = pads
    states = _digests(inner, outer, data, offsets[:-1], np.diff(offsets))
    words = (length + 7) // 8  # 8 hex characters a word
    raw = np.ascontiguousarray(states[:words].T, dtype=">u4").view(np.uint8)
    raw = raw.reshape(count, 4 * words)[:, : length // 2]
    hexed = np.empty((count, length), dtype=np.uint8)
    hexed[:, 0::2], hexed[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 0x0F]
    positions = np.arange(0, (count + 1) * length, length, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(positions),
                                       pa.py_buffer(hexed.tobytes()))
