"""k-anonymity and l-diversity counted in people, measured batch by batch over a whole object.

An equivalence class is the set of rows sharing the contract's quasi-identifiers (age
band, departement, site, month, duration band ...). Its size is the number of *distinct
people* in it (the contract's ``subject``, a pseudonym), not of rows: five absences of
one 95-year-old are one person, whom the class singles out. A class is published only if
it holds at least ``k`` people and, when the contract names a ``sensitive`` attribute
(the diagnosis chapter), at least ``l`` distinct values of it: otherwise knowing
someone's class would tell their diagnosis. The rows of every other class are
suppressed and counted.

:class:`ClassCounter` sees the batches one by one. It keeps the rows of each class by the
class's text, and the distinct (class, person) and (class, sensitive value) pairs as two
64-bit hashes each (:func:`~lakeguard.identifiers.bloom.hash_texts`, seeds drawn per
counter), at most :data:`COUNT_CAP` per class, compacted by sorting in numpy: 16 bytes a
pair, so memory follows the classes of the object, not its people or rows
(``bench/memory.py``).

A hash collision can only make the verdict stricter, never laxer:

- two people (or sensitive values) of one class hashed alike count as one, so a class
  can only count fewer than it holds and be suppressed when it need not be. Any two
  distinct values collide with probability 2^-64: over an object of ``P`` distinct
  (class, value) pairs, the chance that any count is one short is at most
  ``P**2 / 2**65`` (3e-8 for a million pairs).
- two classes hashed alike would pool their people, which could pass a class that
  should fail, so that is not left to chance: the verdict hashes the text of every class
  the counter has seen (published rows' too, :meth:`ClassCounter.seed`) and suppresses
  every class whose hash another class shares (probability ``m**2 / 2**65`` for ``m``
  classes).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import COUNT_CAP, PrivacySpec
from lakeguard.identifiers.bloom import BoolArray, Hashes, hash_texts

_SEPARATOR, _NULL = "\x1f", "\x00"
#: Pairs kept before the first compaction (of all partitions together).
_COMPACT_AT = 1 << 16
#: Hash partitions of the (class, value) pairs, by the top bits of the class's hash.
_PARTITIONS = 16
_PARTITION_SHIFT = np.uint64(64 - 4)


def class_keys(batch: pa.RecordBatch | pa.Table, quasi_identifiers: tuple[str, ...]) -> pa.Array:
    """One text key per row naming its quasi-identifier class (nulls are a value of their own)."""
    parts = [pc.fill_null(pc.cast(batch.column(q), pa.string()), _NULL) for q in quasi_identifiers]
    joined = pc.binary_join_element_wise(*parts, _SEPARATOR)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _encoded(values: pa.Array) -> tuple[npt.NDArray[np.int64], pa.Array]:
    """Each row's value as a number, and the numbers' texts (nulls as :data:`_NULL`).

    Floats are encoded by their text: ``-0.0`` and ``0.0`` are one value to a hash but two
    texts, and the text is what a class key holds.
    """
    if pa.types.is_floating(values.type):
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return indices, pc.fill_null(pc.cast(encoded.dictionary, pa.string()), _NULL)


def class_codes(batch: pa.RecordBatch | pa.Table,
                quasi_identifiers: tuple[str, ...]) -> tuple[npt.NDArray[np.int64], pa.Array]:
    """Each row's class as a number ``0..m-1``, and the ``m`` classes' :func:`class_keys`.

    The same classes as :func:`class_keys` without building a text per row: columns are
    dictionary-encoded and their numbers combined, and only one row of each class is
    joined into its key.
    """
    codes = np.zeros(batch.num_rows, dtype=np.int64)
    for name in quasi_identifiers:
        column = batch.column(name)
        indices, dictionary = _encoded(column.combine_chunks()
                                       if isinstance(column, pa.ChunkedArray) else column)
        if int(codes.max(initial=0)) + 1 > (1 << 62) // max(len(dictionary), 1):
            codes = np.unique(codes, return_inverse=True)[1].astype(np.int64)
        codes = codes * len(dictionary) + indices
    _, first, codes = np.unique(codes, return_index=True, return_inverse=True)
    return codes.astype(np.int64), class_keys(batch.take(pa.array(first)), quasi_identifiers)


@dataclass(frozen=True)
class Verdict:
    """Which classes may be published, and what the guarantee achieved is."""

    small: pa.Array
    k_required: int | None
    k_achieved: int | None
    l_required: int | None
    l_achieved: int | None
    counted_in: str
    classes: int
    rows_suppressed: int


Counts = npt.NDArray[np.int64]


class Pairs(NamedTuple):
    """(class, value) pairs as the hashes of the class's text and of the value's text."""

    classes: Hashes
    values: Hashes


def _no_pairs() -> Pairs:
    return Pairs(np.empty(0, np.uint64), np.empty(0, np.uint64))


def _distinct_capped(pairs: Pairs, cap: int) -> tuple[Pairs, Hashes, Counts]:
    """The distinct pairs, at most ``cap`` per class, with the classes and their counts.

    Which ``cap`` values a class keeps does not matter; the classes come sorted, each
    with its number of distinct values up to ``cap``.
    """
    order = np.lexsort((pairs.values, pairs.classes))
    classes, values = pairs.classes[order], pairs.values[order]
    del order
    first = np.ones(len(classes), np.bool_)  # a class's first pair
    np.not_equal(classes[1:], classes[:-1], out=first[1:])
    new = first.copy()
    new[1:] |= values[1:] != values[:-1]
    classes, values, first = classes[new], values[new], first[new]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(classes)))
    rank = np.arange(len(classes)) - np.repeat(starts, sizes)
    kept = rank < cap
    return Pairs(classes[kept], values[kept]), classes[starts], np.minimum(sizes, cap)


def _found(known: Hashes, classes: Hashes) -> tuple[npt.NDArray[np.intp], BoolArray]:
    """Where each of ``classes`` is in the sorted ``known``, and whether it is there at all."""
    if not len(known):
        return np.zeros(len(classes), np.intp), np.zeros(len(classes), np.bool_)
    at = np.minimum(np.searchsorted(known, classes), len(known) - 1)
    return at, known[at] == classes


class _Partition:
    """The distinct (class, value) pairs of one hash partition, compacted as they grow."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[Pairs] = []
        self.kept = 0
        #: Classes already holding ``cap`` values, sorted: what a batch adds to them is
        #: dropped at once, so pairs pile up between compactions only for classes filling.
        self.full: Hashes = np.empty(0, np.uint64)

    def add(self, pairs: Pairs) -> None:
        if len(self.full):
            filling = ~_found(self.full, pairs.classes)[1]
            pairs = Pairs(pairs.classes[filling], pairs.values[filling])
        self.parts.append(pairs)
        self.kept += len(pairs.classes)
        if self.kept > max(2 * len(self.parts[0].classes), _COMPACT_AT // _PARTITIONS):
            self.compact()

    def compact(self) -> tuple[Hashes, Counts]:
        """Keep only the distinct pairs, capped; the classes (sorted) and their counts."""
        joined = Pairs(*(np.concatenate([getattr(p, name) for p in self.parts])
                         if self.parts else np.empty(0, np.uint64)
                         for name in Pairs._fields))
        self.parts = []  # the parts go before the sort's copies are made
        pairs, classes, counts = _distinct_capped(joined, self.cap)
        self.parts, self.kept = [pairs], len(pairs.classes)
        self.full = classes[counts >= self.cap]
        return classes, counts


class _PairCounts:
    """Distinct (class, value) pairs, at most ``cap`` per class, in hash partitions.

    A class keeps at most :data:`COUNT_CAP` values: its count is exact up to the cap (no
    ``k`` or ``l`` is above it), and an object with millions of people holds no more than
    one with a hundred per class. Pairs are split by the top bits of their class's hash
    and each partition is compacted on its own: the sort's copies, the transient peak,
    are a partition's, not the object's (``bench/memory.py``).
    """

    def __init__(self, cap: int = COUNT_CAP) -> None:
        self.partitions = [_Partition(cap) for _ in range(_PARTITIONS)]

    @property
    def kept(self) -> int:
        """Pairs held, compacted or not."""
        return sum(partition.kept for partition in self.partitions)

    def add(self, pairs: Pairs) -> None:
        partition_of = (pairs.classes >> _PARTITION_SHIFT).astype(np.intp)
        order = np.argsort(partition_of, kind="stable")
        start = 0
        for partition, count in zip(self.partitions,
                                    np.bincount(partition_of, minlength=_PARTITIONS).tolist(),
                                    strict=True):
            if count:
                taken = order[start:start + count]
                partition.add(Pairs(pairs.classes[taken], pairs.values[taken]))
                start += count

    def counts_of(self, classes: Hashes) -> Counts:
        """Each class's number of distinct values up to the cap (0 for one never seen)."""
        compacted = [partition.compact() for partition in self.partitions]
        known = np.concatenate([c for c, _ in compacted])  # sorted: partitions by top bits
        counts = np.concatenate([n for _, n in compacted])
        at, found = _found(known, classes)
        looked_up: Counts = np.append(counts, 0)[np.where(found, at, len(counts))]
        return looked_up


def _no_rows() -> pa.Table:
    return pa.table({"k": pa.array([], pa.string()), "n": pa.array([], pa.int64())})


@dataclass
class _RowCounts:
    """Rows per class over the batches seen: tables of (``k``, ``n``), summed as they grow."""

    parts: list[pa.Table] = field(default_factory=list)
    kept: int = 0

    def add(self, counts: pa.Table) -> None:
        self.parts.append(counts)
        self.kept += counts.num_rows
        if self.kept > max(2 * self.parts[0].num_rows, _COMPACT_AT):
            self.parts = [self.total()]
            self.kept = self.parts[0].num_rows

    def total(self) -> pa.Table:
        """One row per class: its key ``k`` and its number of rows ``n``."""
        if not self.parts:
            return _no_rows()
        summed = pa.concat_tables(self.parts).group_by("k", use_threads=False) \
            .aggregate([("n", "sum")])
        return summed.select(["k", "n_sum"]).rename_columns(["k", "n"])


Measured = tuple[pa.Table, Pairs, Pairs]


def _drawn_seed() -> int:
    return secrets.randbits(64)


@dataclass
class ClassCounter:
    """Rows, people and sensitive values per class, over every batch of an object.

    Rows per class stay in Arrow tables keyed by the class's text (:func:`class_keys`):
    an object's classes can be nearly as many as its rows, too many for Python dicts.
    People and sensitive values are hashed pairs (see the module's docstring).
    """

    privacy: PrivacySpec
    rows: _RowCounts = field(default_factory=_RowCounts)
    people: _PairCounts = field(default_factory=_PairCounts)
    sensitive: _PairCounts = field(default_factory=_PairCounts)
    #: Seed of every hash of this counter: drawn, so which values collide cannot be planned.
    hash_seed: int = field(default_factory=_drawn_seed)

    def measure(self, batch: pa.RecordBatch) -> Measured:
        """What one batch adds (thread-safe: touches nothing shared); see :meth:`add`.

        Rows per class (``k``, ``n``), then the distinct (class, person) and (class,
        sensitive value) pairs, hashed.
        """
        codes, keys = class_codes(batch, self.privacy.quasi_identifiers)
        rows = pa.table({"k": keys, "n": pa.array(np.bincount(codes, minlength=len(keys)),
                                                  pa.int64())})
        classes = hash_texts(keys, self.hash_seed)
        people = self._pairs(codes, classes, batch, self.privacy.subject)
        sensitive = self._pairs(codes, classes, batch, self.privacy.sensitive)
        return rows, people, sensitive

    def _pairs(self, codes: npt.NDArray[np.int64], classes: Hashes, batch: pa.RecordBatch,
               column: str | None) -> Pairs:
        """The distinct (class, value) pairs of one batch, as hashes of their texts."""
        if column is None:
            return _no_pairs()
        indices, texts = _encoded(batch.column(column))
        width = max(len(texts), 1)
        pairs = np.unique(codes * width + indices)
        return Pairs(classes[pairs // width], hash_texts(texts, self.hash_seed)[pairs % width])

    def seed(self, published: pa.Table) -> None:
        """Count the people and sensitive values of already published rows in their classes.

        Their rows are not this object's: they weigh in each class's size but are neither
        published nor suppressed again (:meth:`verdict` judges this object's classes only).
        Their classes are counted with no rows, so that the verdict sees their texts too.
        """
        for batch in published.to_batches():
            rows, people, sensitive = self.measure(batch)
            none = pa.array(np.zeros(rows.num_rows, np.int64))
            self.add((rows.set_column(1, "n", none), people, sensitive))

    def add(self, measured: Measured) -> None:
        """Fold in what :meth:`measure` returned for one batch (on one thread, in order)."""
        rows, people, sensitive = measured
        if rows.num_rows:
            self.rows.add(rows)
        for pairs, target in ((people, self.people), (sensitive, self.sensitive)):
            if len(pairs.classes):
                target.add(pairs)

    def verdict(self) -> Verdict:
        """The classes too small in people or too uniform in the sensitive attribute.

        A class whose hash another class shares is suppressed too (see the module's
        docstring): its people may have been pooled with the other's.
        """
        spec = self.privacy
        if not spec.quasi_identifiers:
            return Verdict(pa.array([], pa.string()), None, None, None, None, "rows", 0, 0)
        total = self.rows.total()
        rows: Counts = total["n"].to_numpy()
        classes = hash_texts(total["k"], self.hash_seed)
        _, inverse, sharing = np.unique(classes, return_inverse=True, return_counts=True)
        size = self.people.counts_of(classes) if spec.subject else rows
        small = (size < spec.k) | (sharing[inverse] > 1)
        distinct = None
        if spec.sensitive:
            distinct = self.sensitive.counts_of(classes)
            small |= distinct < spec.l
        ours = rows > 0  # not the classes only published rows hold (seed)
        kept, small = ours & ~small, ours & small
        return Verdict(
            small=total["k"].filter(pa.array(small)).combine_chunks(), k_required=spec.k,
            k_achieved=int(size[kept].min()) if kept.any() else None,
            l_required=spec.l if spec.sensitive else None,
            l_achieved=int(distinct[kept].min()) if distinct is not None and kept.any()
            else None,
            counted_in="people" if spec.subject else "rows",
            classes=int(kept.sum()), rows_suppressed=int(rows[small].sum()))


def suppress(batch: pa.RecordBatch | pa.Table, quasi_identifiers: tuple[str, ...],
             small: pa.Array) -> pa.RecordBatch | pa.Table:
    """The batch (or table) without the rows of the ``small`` classes."""
    if not quasi_identifiers or not len(small):
        return batch
    codes, keys = class_codes(batch, quasi_identifiers)
    dropped = pc.is_in(keys, value_set=small).to_numpy(zero_copy_only=False)[codes]
    return batch.filter(pa.array(~dropped))
