r"""The raw identifiers of one object, gathered while it is parsed, in the forms they are sought.

The contract says what each raw column identifies (``identifier = "name"``, ``"nir"``,
``"birth_date"`` ...). While an object is parsed, each batch's distinct values of those
columns are tagged with their kind (``name\\x1fDupont``) and handed to a
:class:`RawCollector`, which sorts them out as they come, in memory that does not grow
with the people of the object, into what the redactor and the leak guard compare with:

* the folded words of names and ids, looked for word by word in free text;
* the folded whole values of every kind, compared with whole output cells (on local
  disk behind a Bloom filter: :mod:`lakeguard.identifiers.spilledset`);
* every written form of a birth date (``12031985``, ``120385``, ``1231985`` ...), which
  the guard compares with the digit runs of the output;
* postcodes, compared with the output's five-digit runs.

A pseudonymised column with no declared kind counts as an ``id``. Columns that identify
someone only next to their own row (``scope = "row"``, a job title) are not gathered
here: the redactor reads them from the row itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Column
from lakeguard.identifiers.bloom import FALSE_POSITIVE_RATE
from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.spilledset import SpilledSet, SpilledSetBuilder
from lakeguard.identifiers.words import identifier_words

_TAG = "\x1f"
#: Kinds whose words are names in free text (``[NAME]``, ``[ID]``).
WORD_KINDS = ("name", "id")
#: Shortest whole value compared with output cells: shorter ones are codes, not identifiers.
MIN_EXACT_LENGTH = 3
#: Distinct values kept in memory (words, dates, postcodes) before the first deduplication.
_COMPACT_AT = 1 << 16


def identifier_values(text: pa.Array, typed: pa.Array, column: Column) -> pa.Array:
    """Tagged distinct values of one raw column that identifies someone (empty otherwise).

    ``text`` is the raw text as producers typed it, ``typed`` the same values typed (a
    date column's birth dates are kept as ``YYYYMMDD``, whatever their raw format; a NIR
    column's typed values are :func:`lakeguard.identifiers.nir.canonical` of its text, row
    by row, so their distinct values are those of the canonical distinct texts, in the
    same order).
    """
    kind = column.identifies
    if kind is None or column.scope != "object":
        return pa.array([], pa.string())
    if kind == "birth_date":
        values = yyyymmdd(pc.unique(typed.drop_null()))
    else:
        values = pc.unique(text.drop_null())
        if column.type == "nir":
            values = pa.concat_arrays([values, pc.unique(typed.drop_null())])
    return pc.binary_join_element_wise(pa.repeat(pa.scalar(kind), len(values)).cast(pa.string()),
                                       values.cast(pa.string()), _TAG)


#: Day 0000-01-01 of date32: from it on, Arrow writes a date as ``YYYY-MM-DD`` (or more
#: digits of year), the form ``%Y%m%d`` gives with its dashes.
_YEAR_ZERO = -719528


def yyyymmdd(dates: pa.Array) -> pa.Array:
    """``strftime(dates, "%Y%m%d")``: Arrow's cast to text without its dashes, ten times faster.

    Years before 0 (``-0221-09-04``, whose sign strftime keeps) take strftime itself.
    """
    first = pc.min(dates.cast(pa.int32())).as_py()
    if first is not None and first < _YEAR_ZERO:
        return pc.strftime(dates, format="%Y%m%d")
    return pc.replace_substring(pc.cast(dates, pa.string()), "-", "")


class _Distinct:
    """Distinct values gathered batch by batch, deduplicated whenever the new outnumber the kept.

    Batches repeat the values of earlier ones: compacting only then bounds memory by the
    distinct values, at amortised linear cost.
    """

    def __init__(self) -> None:
        self._parts: list[pa.Array] = []

    def add(self, values: pa.Array) -> None:
        self._parts.append(values)
        if sum(len(a) for a in self._parts[1:]) > max(len(self._parts[0]), _COMPACT_AT):
            self._parts = [self.values()]

    def values(self) -> pa.Array:
        return pc.unique(pa.concat_arrays(self._parts)) if self._parts else \
            pa.array([], pa.string())


class RawCollector:
    """An object's raw identifiers, gathered batch by batch in bounded memory.

    ``add`` takes each batch's tagged values (:func:`identifier_values`); every
    :data:`SPOOL_AT` of them are deduplicated and sorted out by kind: whole values go to
    one :class:`SpilledSetBuilder` per kind (local disk, see
    :mod:`lakeguard.identifiers.spilledset`); name words, birth dates and postcodes, which
    a language or a calendar bounds, stay in memory as distinct Arrow arrays. Nothing
    becomes a Python string per value.
    """

    def __init__(self, false_positive_rate: float = FALSE_POSITIVE_RATE,
                 spool_at: int = 1 << 18) -> None:
        self._rate, self._spool_at = false_positive_rate, spool_at
        self._pending: list[pa.Array] = []
        self._pending_values = 0
        self._exact: dict[str, SpilledSetBuilder] = {}
        self._words, self._births, self._postcodes = _Distinct(), _Distinct(), _Distinct()

    def add(self, tagged: pa.Array) -> None:
        """Take one batch's tagged values."""
        self._pending.append(tagged)
        self._pending_values += len(tagged)
        if self._pending_values >= self._spool_at:
            self._sort_out()

    def _sort_out(self) -> None:
        if not self._pending:
            return
        tagged = pc.unique(pa.concat_arrays(self._pending).drop_null())
        self._pending, self._pending_values = [], 0
        parts = pc.split_pattern(tagged, _TAG, max_splits=1)
        kinds = pc.list_element(parts, 0)
        values = pc.list_element(parts, 1)
        for kind in pc.unique(kinds).to_pylist():
            mine = values.filter(pc.equal(kinds, kind))
            if kind == "birth_date":  # sought in every written form (birth_forms)
                self._births.add(mine)
                continue
            folded = fold(mine)
            if kind in WORD_KINDS:
                self._words.add(identifier_words(mine))
            if kind == "postcode":
                self._postcodes.add(pc.unique(folded))
            if kind not in self._exact:
                self._exact[kind] = SpilledSetBuilder(self._rate)
            self._exact[kind].add(
                folded.filter(pc.greater_equal(pc.utf8_length(folded), MIN_EXACT_LENGTH)))

    def finish(self) -> RawValues:
        """Everything gathered, in the forms the redactor and the leak guard seek."""
        self._sort_out()
        exact = {kind: builder.build() for kind, builder in self._exact.items()}
        return RawValues(self._words.values(), exact, birth_forms(self._births.values()),
                         self._postcodes.values())


@dataclass(frozen=True)
class RawValues:
    """An object's raw identifiers, prepared once for every batch's redaction and scan."""

    words: pa.Array
    #: kind -> its folded whole values: a Bloom filter in memory and the values on local
    #: disk (:mod:`lakeguard.identifiers.spilledset`), so memory does not follow the people
    exact: dict[str, SpilledSet]
    birth_forms: pa.Array
    postcodes: pa.Array

    @classmethod
    def of(cls, tagged: pa.Array) -> RawValues:
        """Prepare the tagged values gathered by :func:`identifier_values`, all at once."""
        collector = RawCollector()
        collector.add(tagged)
        return collector.finish()

    @classmethod
    def empty(cls) -> RawValues:
        """No identifier at all (a dataset without personal data)."""
        return cls.of(pa.array([], pa.string()))


def birth_forms(canonical: pa.Array) -> pa.Array:
    """Every digit form of ``YYYYMMDD`` dates a person may write, six digits or more.

    Day and month with or without their leading zero, the year in four digits or two, day
    first; and the year first in four digits. Shorter forms (``1385``) would match
    ordinary numbers.
    """
    if not len(canonical):
        return pa.array([], pa.string())
    year = pc.utf8_slice_codeunits(canonical, 0, 4)
    short_year = pc.utf8_slice_codeunits(canonical, 2, 4)
    month = pc.utf8_slice_codeunits(canonical, 4, 6)
    day = pc.utf8_slice_codeunits(canonical, 6, 8)
    bare_month = pc.utf8_ltrim(month, characters="0")
    bare_day = pc.utf8_ltrim(day, characters="0")
    forms = [pc.binary_join_element_wise(year, month, day, "")]
    for d in (day, bare_day):
        for m in (month, bare_month):
            for y in (year, short_year):
                forms.append(pc.binary_join_element_wise(d, m, y, ""))
    every = pc.unique(pa.concat_arrays(forms))
    return every.filter(pc.greater_equal(pc.utf8_length(every), 6))
