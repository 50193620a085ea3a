"""The leak guard's compact set of raw identifiers answers exactly as a Python set does.

It replaced a ``dict`` of every folded identifier (see ``bench/memory.py``); any
difference would be a leak let through or a clean cell refused.
"""

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeguard.identifiers.stringset import StringSet

#: Few characters, so members and cells collide often; NUL, accents and emoji included
#: (numpy's fixed-width bytes drop trailing NULs: lengths must keep them apart).
TEXT = st.text(alphabet="ab1 \x00é😀", max_size=6)


@settings(max_examples=300, deadline=None)
@given(members=st.lists(st.one_of(st.none(), TEXT), max_size=40),
       cells=st.lists(st.one_of(st.none(), TEXT), max_size=40))
def test_membership_is_a_python_sets(members, cells):
    plain = {m for m in members if m}
    found = StringSet(pa.array(members, pa.string())).contains(pa.array(cells, pa.string()))
    assert found.tolist() == [c is not None and c in plain for c in cells]


def test_a_chunked_column_is_probed_whole():
    values = StringSet(pa.array(["dupont", "martin"]))
    cells = pa.chunked_array([["martin", "x"], ["dupont"]])
    assert values.contains(cells).tolist() == [True, False, True]


def test_members_take_about_their_own_bytes():
    names = [f"person-{i:07d}" for i in range(100_000)]  # 14 bytes each
    values = StringSet(pa.array(names))
    assert len(values) == 100_000 and values.nbytes == 14 * 100_000
