"""The leak guard's raw identifiers on disk answer exactly as a Python set does.

They replaced a set held in memory (see ``bench/memory.py``): a Bloom filter says "surely
not" or "maybe", and a "maybe" is settled on disk. Any difference with a plain set would be
a leak let through or a clean cell refused, so every test here compares with one, with
filters tuned to say "maybe" to most cells (false positives settled exactly), and with the
spool's compaction and the index's blocks made small enough to be crossed.
"""

import errno
import gc
import os
import pickle
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeguard.exceptions import ScratchSpaceFull
from lakeguard.identifiers import spilledset
from lakeguard.identifiers.bloom import FALSE_POSITIVE_RATE, BloomFilter, hash_rows, hash_texts
from lakeguard.identifiers.spilledset import SpilledSet, SpilledSetBuilder

#: Few characters, so members and cells collide often; NUL, accents and emoji included
#: (numpy's fixed-width bytes drop trailing NULs: lengths must keep them apart).
TEXT = st.text(alphabet="ab1 \x00é😀", max_size=6)
BATCHES = st.lists(st.lists(st.one_of(st.none(), TEXT), max_size=30), min_size=1, max_size=5)


def _small_blocks():
    """Blocks of 2 values and compaction at 4: small sets cross both."""
    return mock.patch.multiple(spilledset, FENCE=2, COMPACT_AT=4)


@settings(max_examples=300, deadline=None)
@given(batches=BATCHES, cells=st.lists(st.one_of(st.none(), TEXT), max_size=40),
       rate=st.sampled_from([FALSE_POSITIVE_RATE, 0.5, 0.99]))
def test_membership_is_a_python_sets(batches, cells, rate):
    plain = {m for batch in batches for m in batch if m}
    with _small_blocks():
        builder = SpilledSetBuilder(rate)
        for batch in batches:
            builder.add(pa.array(batch, pa.string()))
        values = builder.build()
        found = values.contains(pa.array(cells, pa.string()))
    assert found.tolist() == [c is not None and c in plain for c in cells]
    assert len(values) == len(plain)


def test_false_positives_are_settled_on_disk():
    # GIVEN a filter that says "maybe" to most cells, over thousands of members
    members = [f"person-{i:07d}" for i in range(0, 40_000, 2)]
    others = [f"person-{i:07d}" for i in range(1, 40_000, 2)]
    values = SpilledSet.of(pa.array(members), false_positive_rate=0.5)
    # WHEN members and non-members are probed
    found = values.contains(pa.array(members + others))
    # THEN the filter did send non-members to the disk, and the disk said no
    rows = np.frombuffer("".join(others).encode(), np.uint8).reshape(len(others), 14)
    maybe = values._bloom.might_contain(*values._hashing.of(rows))
    assert maybe.mean() > 0.3
    assert found.tolist() == [True] * len(members) + [False] * len(others)


def test_a_chunked_column_is_probed_whole():
    values = SpilledSet.of(pa.array(["dupont", "martin"]))
    cells = pa.chunked_array([["martin", "x"], ["dupont"]])
    assert values.contains(cells).tolist() == [True, False, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, max_size=40), st.integers(0, 5), st.integers(0, (1 << 64) - 1))
def test_a_column_is_hashed_as_each_of_its_values_alone(texts, cut, seed):
    """hash_texts (grouped by length, sliced, chunked, large) is hash_rows of each value."""
    alone = [int(hash_rows(np.frombuffer(t.encode(), np.uint8).reshape(1, -1), seed)[0])
             for t in texts]
    column = pa.array(texts, pa.string())
    assert hash_texts(column, seed).tolist() == alone
    assert hash_texts(column.slice(min(cut, len(texts))), seed).tolist() == alone[cut:]
    large = column.cast(pa.large_string())
    chunked = pa.chunked_array([large[:cut], large[cut:]], pa.large_string())
    assert hash_texts(chunked, seed).tolist() == alone


def test_the_filter_keeps_its_stated_rate_in_its_stated_memory():
    rng = np.random.default_rng(7)
    members = rng.integers(0, 256, size=(200_000, 15), dtype=np.uint8)
    strangers = rng.integers(0, 256, size=(400_000, 15), dtype=np.uint8)
    bloom = BloomFilter(len(members))
    bloom.add(hash_rows(members, 1), hash_rows(members, 2))
    assert bloom.might_contain(hash_rows(members, 1), hash_rows(members, 2)).all()
    rate = bloom.might_contain(hash_rows(strangers, 1), hash_rows(strangers, 2)).mean()
    assert 0.5 * FALSE_POSITIVE_RATE < rate < 1.5 * FALSE_POSITIVE_RATE
    assert bloom.nbytes < 2 * len(members)  # ~14.4 bits a value


def test_memory_holds_the_filter_and_index_not_the_values():
    names = [f"person-{i:07d}" for i in range(100_000)]  # 14 bytes each
    values = SpilledSet.of(pa.array(names))
    assert len(values) == 100_000
    assert values.nbytes < 0.25 * 14 * 100_000


def test_the_copy_sent_to_spark_workers_answers_the_same():
    values = SpilledSet.of(pa.array(["dupont", "martin", "lefebvre"]))
    copy = pickle.loads(pickle.dumps(values))
    cells = pa.array(["martin", "durand", "lefebvre", None])
    assert copy.contains(cells).tolist() == values.contains(cells).tolist() == [
        True, False, True, False]


def _open_descriptors(folder: Path) -> int:
    """Descriptors of this process open on files in ``folder`` (named or anonymous).

    Only those: other threads of a test session (a moto server, a worker's pipes) open
    and close descriptors of their own at any time.
    """
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        count += target.startswith(f"{folder}/")
    return count


def test_spill_files_have_no_name_and_are_freed_with_the_set(tmp_path: Path):
    # GIVEN the temporary directory the stage would use
    with mock.patch("tempfile.tempdir", str(tmp_path)), _small_blocks():
        before = _open_descriptors(tmp_path)
        builder = SpilledSetBuilder()
        builder.add(pa.array([f"2{i:014d}" for i in range(2_000)]))
        # WHILE spooling and once built, nothing in the directory carries a name
        assert list(tmp_path.iterdir()) == []
        values = builder.build()
        del builder
        gc.collect()
        assert values.contains(pa.array(["200000000000042"])).tolist() == [True]
        assert list(tmp_path.iterdir()) == []
        assert _open_descriptors(tmp_path) == before + 1  # the set's file, spool files closed
        # THEN dropping the set closes its file: the kernel frees what it held
        del values
        gc.collect()
        assert _open_descriptors(tmp_path) == before == 0


def test_a_full_scratch_disk_names_the_fix_and_no_value():
    full = mock.patch.object(spilledset, "_scratch",
                             lambda: open("/dev/full", "r+b", buffering=0))  # noqa: SIM115
    with full, pytest.raises(ScratchSpaceFull) as raised:
        SpilledSet.of(pa.array(["1850578006048"]))
    message = str(raised.value)
    assert "ephemeral storage" in message and "lambda_max_bytes" in message
    assert "1850578006048" not in message
    assert os.strerror(errno.ENOSPC) not in message
