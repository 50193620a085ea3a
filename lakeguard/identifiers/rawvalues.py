r"""The raw identifiers of one object, gathered while it is parsed, in the forms they are sought.

The contract says what each raw column identifies (``identifier = "name"``, ``"nir"``,
``"birth_date"`` ...). While an object is parsed, the distinct values of those columns
are kept in memory, tagged with their kind (``name\\x1fDupont``), and turned once, at the
end of the first pass, into what the redactor and the leak guard compare with:

* the folded words of names and ids, looked for word by word in free text;
* the folded whole values of every kind, compared with whole output cells;
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
from lakeguard.identifiers import nir
from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.stringset import StringSet
from lakeguard.identifiers.words import identifier_words

_TAG = "\x1f"
#: Kinds whose words are names in free text (``[NAME]``, ``[ID]``).
WORD_KINDS = ("name", "id")
#: Shortest whole value compared with output cells: shorter ones are codes, not identifiers.
MIN_EXACT_LENGTH = 3


def identifier_values(text: pa.Array, typed: pa.Array, column: Column) -> pa.Array:
    """Tagged distinct values of one raw column that identifies someone (empty otherwise).

    ``text`` is the raw text as producers typed it, ``typed`` the same values typed (a
    date column's birth dates are kept as ``YYYYMMDD``, whatever their raw format).
    """
    kind = column.identifies
    if kind is None or column.scope != "object":
        return pa.array([], pa.string())
    if kind == "birth_date":
        values = pc.strftime(pc.unique(typed.drop_null()), format="%Y%m%d")
    else:
        values = pc.unique(text.drop_null())
        if column.type == "nir":
            values = pa.concat_arrays([values, pc.unique(nir.canonical(values))])
    return pc.binary_join_element_wise(pa.repeat(pa.scalar(kind), len(values)).cast(pa.string()),
                                       values.cast(pa.string()), _TAG)


@dataclass(frozen=True)
class RawValues:
    """An object's raw identifiers, prepared once for every batch's redaction and scan."""

    words: pa.Array
    #: kind -> its folded whole values: built once, probed with each batch's distinct
    #: cells (rebuilding an Arrow lookup of every NIR per batch cost 3 s a million), in
    #: about a byte per byte of value, so memory follows the people only that much
    exact: dict[str, StringSet]
    birth_forms: pa.Array
    postcodes: pa.Array

    @classmethod
    def of(cls, tagged: pa.Array) -> RawValues:
        """Prepare the tagged values gathered by :func:`identifier_values`."""
        tagged = pc.unique(tagged.drop_null())
        parts = pc.split_pattern(tagged, _TAG, max_splits=1)
        kinds = pc.list_element(parts, 0)
        values = pc.list_element(parts, 1)
        exact: dict[str, StringSet] = {}
        for kind in pc.unique(kinds).to_pylist():
            if kind == "birth_date":  # sought in every written form (birth_forms)
                continue
            mine = fold(values.filter(pc.equal(kinds, kind)))
            exact[kind] = StringSet(
                mine.filter(pc.greater_equal(pc.utf8_length(mine), MIN_EXACT_LENGTH)))
        word_kinds = pc.is_in(kinds, value_set=pa.array(WORD_KINDS))
        words = identifier_words(values.filter(word_kinds))
        births = values.filter(pc.equal(kinds, "birth_date"))
        postcodes = pc.unique(fold(values.filter(pc.equal(kinds, "postcode"))))
        return cls(words, exact, birth_forms(births), postcodes)

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
