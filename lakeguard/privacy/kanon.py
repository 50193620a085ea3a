"""k-anonymity and l-diversity counted in people, measured batch by batch over a whole object.

An equivalence class is the set of rows sharing the contract's quasi-identifiers (age
band, departement, site, month, duration band ...). Its size is the number of *distinct
people* in it (the contract's ``subject``, a pseudonym), not of rows: five absences of
one 95-year-old are one person, whom the class singles out. A class is published only if
it holds at least ``k`` people and, when the contract names a ``sensitive`` attribute
(the diagnosis chapter), at least ``l`` distinct values of it: otherwise knowing
someone's class would tell their diagnosis. The rows of every other class are
suppressed and counted.

:class:`ClassCounter` sees the batches one by one and keeps only the distinct
(class, person) and (class, sensitive value) pairs, compacted as they grow, so memory
follows the people and classes of the object, not its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import COUNT_CAP, PrivacySpec

_SEPARATOR, _NULL = "\x1f", "\x00"
#: Distinct pairs kept before the first compaction.
_COMPACT_AT = 1 << 16


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


def _capped(pairs: pa.Table, cap: int) -> pa.Table:
    """At most ``cap`` of each class's distinct values (which ones does not matter)."""
    lists = pairs.group_by("k", use_threads=False).aggregate([("v", "list")])
    values = pc.list_slice(lists["v_list"], 0, cap)
    return pa.table({"k": pc.take(lists["k"], pc.list_parent_indices(values)),
                     "v": pc.list_flatten(values)})


class _Pairs:
    """Distinct (class, value) pairs, compacted as batches add to them.

    A class keeps at most :data:`COUNT_CAP` values: its count is exact up to the cap (no
    ``k`` or ``l`` is above it), and an object with millions of people holds no more than
    one with a hundred per class (``bench/memory.py``).
    """

    def __init__(self, cap: int = COUNT_CAP) -> None:
        self.cap = cap
        self.parts: list[pa.Table] = []
        self.kept = 0
        #: Classes already holding ``cap`` values: what a batch adds to them is dropped at
        #: once, so pairs pile up between compactions only for classes still filling.
        self.full = pa.array([], pa.string())

    def add(self, keys: pa.Array, values: pa.Array) -> None:
        pairs = pa.table({"k": keys, "v": pc.cast(values, pa.string())})
        if len(self.full):
            pairs = pairs.filter(pc.invert(pc.is_in(pairs["k"], value_set=self.full)))
        pairs = pairs.group_by(["k", "v"], use_threads=False).aggregate([])
        self.parts.append(pairs)
        self.kept += pairs.num_rows
        if self.kept > max(2 * self.parts[0].num_rows, _COMPACT_AT):
            compacted, sizes = self._compacted()
            self.parts, self.kept = [compacted], compacted.num_rows
            self.full = sizes.filter(pc.greater_equal(sizes["count_all"], self.cap))["k"] \
                .combine_chunks()

    def _compacted(self) -> tuple[pa.Table, pa.Table]:
        """The distinct pairs, capped, and each class's number of them (``k``, ``count_all``).

        Capping (a list per class) costs more than counting, so it runs only when a class
        holds more than ``cap`` values.
        """
        if not self.parts:
            empty = pa.array([], pa.string())
            return pa.table({"k": empty, "v": empty}), \
                pa.table({"k": empty, "count_all": pa.array([], pa.int64())})
        distinct = pa.concat_tables(self.parts).group_by(["k", "v"], use_threads=False) \
            .aggregate([])
        sizes = distinct.group_by("k", use_threads=False).aggregate([([], "count_all")]) \
            .select(["k", "count_all"])
        if (pc.max(sizes["count_all"]).as_py() or 0) <= self.cap:
            return distinct, sizes
        capped = pc.min_element_wise(sizes["count_all"], pa.scalar(self.cap, pa.int64()))
        return _capped(distinct, self.cap), sizes.set_column(1, "count_all", capped)

    def distinct(self) -> pa.Table:
        return self._compacted()[0]

    def sizes(self) -> pa.Table:
        """Each class's number of distinct values, up to the cap (``k``, ``count_all``)."""
        return self._compacted()[1]

    def per_class(self) -> dict[str, int]:
        sizes = self.sizes()
        return dict(zip(sizes["k"].to_pylist(), sizes["count_all"].to_pylist(), strict=True))


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


Measured = tuple[pa.Table, pa.Table, pa.Table]


@dataclass
class ClassCounter:
    """Rows, people and sensitive values per class, over every batch of an object.

    Everything stays in Arrow tables keyed by the class's text (:func:`class_keys`): an
    object's classes can be nearly as many as its rows, too many for Python dicts.
    """

    privacy: PrivacySpec
    rows: _RowCounts = field(default_factory=_RowCounts)
    people: _Pairs = field(default_factory=_Pairs)
    sensitive: _Pairs = field(default_factory=_Pairs)

    def measure(self, batch: pa.RecordBatch) -> Measured:
        """What one batch adds (thread-safe: touches nothing shared); see :meth:`add`.

        Rows per class (``k``, ``n``), then the distinct (class, person) and (class,
        sensitive value) pairs (``k``, ``v``).
        """
        codes, keys = class_codes(batch, self.privacy.quasi_identifiers)
        rows = pa.table({"k": keys, "n": pa.array(np.bincount(codes, minlength=len(keys)),
                                                  pa.int64())})
        people = self._pairs(codes, keys, batch, self.privacy.subject)
        sensitive = self._pairs(codes, keys, batch, self.privacy.sensitive)
        return rows, people, sensitive

    @staticmethod
    def _pairs(codes: npt.NDArray[np.int64], keys: pa.Array, batch: pa.RecordBatch,
               column: str | None) -> pa.Table:
        """The distinct (class key, value text) pairs of one batch."""
        if column is None:
            return pa.table({"k": pa.array([], pa.string()), "v": pa.array([], pa.string())})
        indices, texts = _encoded(batch.column(column))
        width = max(len(texts), 1)
        pairs = np.unique(codes * width + indices)
        return pa.table({"k": keys.take(pa.array(pairs // width)),
                         "v": texts.take(pa.array(pairs % width))})

    def seed(self, published: pa.Table) -> None:
        """Count the people and sensitive values of already published rows in their classes.

        Their rows are not this object's: they weigh in each class's size but are neither
        published nor suppressed again (:meth:`verdict` judges this object's classes only).
        """
        for batch in published.to_batches():
            _, people, sensitive = self.measure(batch)
            self.add((_no_rows(), people, sensitive))

    def add(self, measured: Measured) -> None:
        """Fold in what :meth:`measure` returned for one batch (on one thread, in order)."""
        rows, people, sensitive = measured
        if rows.num_rows:
            self.rows.add(rows)
        for pairs, target in ((people, self.people), (sensitive, self.sensitive)):
            if pairs.num_rows:
                target.add(pairs["k"], pairs["v"])

    def verdict(self) -> Verdict:
        """The classes too small in people or too uniform in the sensitive attribute."""
        spec = self.privacy
        if not spec.quasi_identifiers:
            return Verdict(pa.array([], pa.string()), None, None, None, None, "rows", 0, 0)
        judged = self.rows.total()
        sizes = self.people.sizes() if spec.subject else judged
        judged = judged.join(sizes.rename_columns(["k", "size"]), "k", join_type="left outer",
                             use_threads=False)
        size = pc.fill_null(judged["size"], 0)
        small = pc.less(size, spec.k)
        distinct = None
        if spec.sensitive:
            judged = judged.join(self.sensitive.sizes().rename_columns(["k", "distinct"]), "k",
                                 join_type="left outer", use_threads=False)
            size = pc.fill_null(judged["size"], 0)
            distinct = pc.fill_null(judged["distinct"], 0)
            small = pc.or_(pc.less(size, spec.k), pc.less(distinct, spec.l))
        kept = pc.invert(small)
        return Verdict(
            small=judged["k"].filter(small).combine_chunks(), k_required=spec.k,
            k_achieved=pc.min(size.filter(kept)).as_py(),
            l_required=spec.l if spec.sensitive else None,
            l_achieved=pc.min(distinct.filter(kept)).as_py() if distinct is not None else None,
            counted_in="people" if spec.subject else "rows",
            classes=pc.sum(kept).as_py() or 0,
            rows_suppressed=pc.sum(judged["n"].filter(small)).as_py() or 0)


def suppress(batch: pa.RecordBatch | pa.Table, quasi_identifiers: tuple[str, ...],
             small: pa.Array) -> pa.RecordBatch | pa.Table:
    """The batch (or table) without the rows of the ``small`` classes."""
    if not quasi_identifiers or not len(small):
        return batch
    codes, keys = class_codes(batch, quasi_identifiers)
    dropped = pc.is_in(keys, value_set=small).to_numpy(zero_copy_only=False)[codes]
    return batch.filter(pa.array(~dropped))
