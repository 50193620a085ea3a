"""An object's raw identifiers, gathered in bounded memory, are those of the plain definition.

The plain definition is what the collector replaced: every tagged value of the object in
Python sets, folded once. Gathered batch by batch instead (spooled every few values, the
whole values on disk behind Bloom filters that say "maybe" to most cells), the forms the
redactor and the guard seek must be the same, and the guard must decide the same on any
output: same rows, columns and kinds.
"""

from datetime import date

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.rawvalues import (
    MIN_EXACT_LENGTH,
    WORD_KINDS,
    RawCollector,
    RawValues,
    birth_forms,
)
from lakeguard.identifiers.words import identifier_words
from lakeguard.privacy.leakguard import scan

KINDS = ("nir", "name", "email", "phone", "postcode", "id")
VALUE = st.text(alphabet="aBé ÉZ-'.@1285", min_size=1, max_size=12)
TAGGED = st.one_of(
    st.tuples(st.sampled_from(KINDS), VALUE).map("\x1f".join),
    st.dates(date(1900, 1, 1), date(2020, 12, 31)).map(
        lambda d: f"birth_date\x1f{d:%Y%m%d}"))


class PlainSet:
    """The plain definition of a set of whole values: a Python set."""

    def __init__(self, values: set[str]) -> None:
        self.values = values

    def contains(self, cells: pa.Array) -> np.ndarray:
        return np.array([c is not None and c in self.values for c in cells.to_pylist()], bool)


def _folded(value: str) -> str:
    return fold(pa.array([value]))[0].as_py()


def plain(tagged: list[str]) -> RawValues:
    """Every tagged value in memory, as the leak guard had them before the collector."""
    pairs = list(dict.fromkeys(tuple(t.split("\x1f", 1)) for t in tagged))  # as first seen
    exact: dict[str, set[str]] = {}
    for kind, value in pairs:
        if kind != "birth_date":
            folded = _folded(value)
            exact.setdefault(kind, set()).update([folded] if len(folded) >= MIN_EXACT_LENGTH
                                                 else [])
    words = identifier_words(pa.array([v for k, v in pairs if k in WORD_KINDS], pa.string()))
    births = birth_forms(pa.array([v for k, v in pairs if k == "birth_date"], pa.string()))
    postcodes = pa.array(sorted({_folded(v) for k, v in pairs if k == "postcode"}), pa.string())
    return RawValues(words, {k: PlainSet(v) for k, v in exact.items()},  # type: ignore[misc]
                     births, postcodes)


def collected(batches: list[list[str]], rate: float) -> RawValues:
    collector = RawCollector(false_positive_rate=rate, spool_at=3)
    for batch in batches:
        collector.add(pa.array(batch, pa.string()))
    return collector.finish()


BATCHES = st.lists(st.lists(TAGGED, max_size=8), min_size=1, max_size=4)
RATES = st.sampled_from([1e-3, 0.5, 0.99])


@settings(max_examples=150, deadline=None)
@given(batches=BATCHES, probes=st.lists(VALUE, max_size=10), rate=RATES)
def test_the_forms_sought_are_the_plain_definitions(batches, probes, rate):
    tagged = [t for batch in batches for t in batch]
    mine, reference = collected(batches, rate), plain(tagged)
    assert sorted(mine.words.to_pylist()) == sorted(reference.words.to_pylist())
    assert sorted(mine.birth_forms.to_pylist()) == sorted(reference.birth_forms.to_pylist())
    assert sorted(mine.postcodes.to_pylist()) == sorted(reference.postcodes.to_pylist())
    assert set(mine.exact) == set(reference.exact)
    cells = fold(pa.array([t.split("\x1f", 1)[1] for t in tagged] + probes, pa.string()))
    for kind, values in mine.exact.items():
        assert values.contains(cells).tolist() == reference.exact[kind].contains(cells).tolist()


def _cells(tagged: list[str]) -> st.SearchStrategy[str]:
    """Output cells: raw identifiers as they are, inside text, or anything else."""
    values = [t.split("\x1f", 1)[1] for t in tagged]
    anything = st.one_of(VALUE, st.text(alphabet="ab 12@.", max_size=8))
    if not values:
        return anything
    known = st.sampled_from(values)
    return st.one_of(known, known.map(str.upper), known.map(lambda v: f"vu {v} hier"), anything)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), batches=BATCHES, rate=RATES)
def test_the_guard_decides_as_with_plain_sets(data, batches, rate):
    tagged = [t for batch in batches for t in batch]
    cells = st.lists(_cells(tagged), min_size=1, max_size=12)
    comment, code = data.draw(cells), data.draw(cells)
    rows = min(len(comment), len(code))
    output = pa.table({"comment": fold(pa.array(comment[:rows])), "code": code[:rows],
                       "_row": list(range(1, rows + 1))})
    mine = scan(output, collected(batches, rate), ("comment",), row_column="_row")
    reference = scan(output, plain(tagged), ("comment",), row_column="_row")
    assert mine.counts == reference.counts
    assert mine.first == reference.first
