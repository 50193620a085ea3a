"""Speed rewrites of the Lambda anonymise path, pinned to their plain per-value definitions.

Each rewrite works on whole columns (distinct values, dictionary codes); each test draws
values with nulls, empty strings, Unicode and look-alike characters and checks the
rewrite against the one-value-at-a-time definition it replaces.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lakeguard.contracts.model import PrivacySpec
from lakeguard.identifiers.bloom import hash_texts
from lakeguard.privacy import kanon
from lakeguard.privacy.detectors import _DIGITS_NEEDED
from lakeguard.privacy.kanon import ClassCounter, Pairs, class_keys, suppress
from lakeguard.privacy.pseudonym import PSEUDONYM_LENGTH, PseudonymKey

#: Text as producers write it: ASCII, accents, invisible characters, look-alikes of
#: digits and letters (Cyrillic, Greek, full-width, mathematical), any other character.
TEXT = st.text(st.one_of(
    st.characters(codec="ascii"), st.sampled_from("éèÉçœÆøßÅåñ\u0301\u0300"),
    st.sampled_from("\u200b\u200c\u200d\u00ad\u2060\ufeff\u00a0\u202f\u2011\u2013\u2019"),
    st.sampled_from("аеорсхуіАЕОРСНМТνοα１２３ａｂ𝐀𝐛٣"),
    st.characters(exclude_categories=["Cs"])), max_size=150)


def _hmac(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=70), st.lists(st.one_of(st.none(), TEXT), max_size=60))
def test_pseudonyms_are_the_hmac_of_each_value_and_nulls_stay_null(secret, values):
    array = pa.array(values, pa.string())
    expected = [None if v is None else _hmac(secret, v)[:PSEUDONYM_LENGTH] for v in values]
    key = PseudonymKey("v", secret)
    assert key.pseudonymise(array).to_pylist() == expected
    assert key.pseudonymise(pa.chunked_array([array[:3], array[3:]], pa.string())) \
        .to_pylist() == expected


# -- classes by dictionary codes -------------------------------------------------------

_QUASI = ("band", "dep", "days", "score")
_ROWS = st.lists(st.tuples(
    st.one_of(st.none(), st.sampled_from(["20-29", "30-39", "", "२०-२९", "2O-29"])),
    st.one_of(st.none(), TEXT.filter(lambda t: len(t) < 4)),
    st.one_of(st.none(), st.integers(-2, 3)),
    st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, float("nan"), float("inf")])),
    st.one_of(st.none(), st.sampled_from(["p1", "p2", "p3", "", "р1"])),
    st.one_of(st.none(), st.sampled_from(["I", "II", "Ⅱ"]))), max_size=60)


def _batch(rows) -> pa.RecordBatch:
    names = (*_QUASI, "person", "reason")
    types = (pa.string(), pa.string(), pa.int64(), pa.float64(), pa.string(), pa.string())
    return pa.RecordBatch.from_arrays(
        [pa.array([r[i] for r in rows], t) for i, t in enumerate(types)], names=list(names))


def _texts(batch: pa.RecordBatch, column: str) -> list[str]:
    return pc.fill_null(pc.cast(batch.column(column), pa.string()), "\x00").to_pylist()


@settings(max_examples=150, deadline=None)
@given(_ROWS)
def test_class_measure_is_the_per_row_count(rows):
    """Rows per class key, and the distinct (class, person) and (class, reason) pairs."""
    batch = _batch(rows)
    counter = ClassCounter(PrivacySpec(_QUASI, 2, "person", "reason", 2))
    measured_rows, people, sensitive = counter.measure(batch)
    keys = class_keys(batch, _QUASI).to_pylist()
    counted = dict(zip(measured_rows["k"].to_pylist(), measured_rows["n"].to_pylist(),
                       strict=True))
    assert len(counted) == measured_rows.num_rows and counted == dict(Counter(keys))
    def hashed(texts: list[str]) -> list[int]:
        return hash_texts(pa.array(texts, pa.string()), counter.hash_seed).tolist()

    for pairs, column in ((people, "person"), (sensitive, "reason")):
        got = list(zip(pairs.classes.tolist(), pairs.values.tolist(), strict=True))
        assert len(got) == len(set(got))
        assert set(got) == set(zip(hashed(keys), hashed(_texts(batch, column)), strict=True))


@settings(max_examples=150, deadline=None)
@given(_ROWS, st.data())
def test_suppress_drops_exactly_the_rows_of_the_small_classes(rows, data):
    batch = _batch(rows)
    batch = batch.append_column("i", pa.array(range(batch.num_rows), pa.int64()))
    keys = class_keys(batch, _QUASI).to_pylist()
    small = data.draw(st.lists(st.sampled_from(keys), unique=True) if keys else st.just([]))
    small.append("not a class")
    kept = suppress(batch, _QUASI, pa.array(small, pa.string()))
    expected = [i for i, key in enumerate(keys) if key not in small]
    assert kept.column("i").to_pylist() == expected  # NaN differs from itself: rows by number
    table = pa.Table.from_batches([batch, batch])
    assert suppress(table, _QUASI, pa.array(small, pa.string())).num_rows == 2 * len(expected)


@settings(max_examples=120, deadline=None)
@given(_ROWS, st.integers(1, 4), st.integers(1, 3), st.sampled_from([None, "person"]),
       st.sampled_from([None, "reason"]), st.integers(1, 7))
def test_verdict_is_the_per_class_definition(rows, k, l, subject, sensitive, size):  # noqa: E741
    """Classes with fewer than k people (rows without a subject) or l sensitive values."""
    batch = _batch(rows)
    counter = ClassCounter(PrivacySpec(_QUASI, k, subject, sensitive, l))
    for part in pa.Table.from_batches([batch], batch.schema).to_batches(max_chunksize=size):
        counter.add(counter.measure(part))
    verdict = counter.verdict()
    keys = class_keys(batch, _QUASI).to_pylist()
    rows_of = Counter(keys)
    people = {key: set() for key in rows_of}
    values = {key: set() for key in rows_of}
    for key, person, value in zip(keys, _texts(batch, "person"), _texts(batch, "reason"),
                                  strict=True):
        people[key].add(person)
        values[key].add(value)
    size_of = {key: len(people[key]) if subject else rows_of[key] for key in rows_of}
    small = {key for key in rows_of
             if size_of[key] < k or (sensitive is not None and len(values[key]) < l)}
    kept = set(rows_of) - small
    assert sorted(verdict.small.to_pylist()) == sorted(small)
    assert verdict.k_achieved == min((size_of[key] for key in kept), default=None)
    assert verdict.l_achieved == (min((len(values[key]) for key in kept), default=None)
                                  if sensitive else None)
    assert verdict.classes == len(kept)
    assert verdict.rows_suppressed == sum(rows_of[key] for key in small)


def _spread(classes: list[int]) -> np.ndarray:
    """Small class numbers as hashes spread over the partitions (odd multiplier: one-to-one)."""
    return np.array(classes, np.uint64) * np.uint64(0x9E3779B97F4A7C15)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40)), max_size=50),
                max_size=10),
       st.integers(1, 12), st.integers(1, 1024), st.data())
def test_pair_counts_are_the_distinct_values_of_each_class_capped(batches, cap, compact_at,
                                                                  data):
    """Over batches added one by one (duplicates and all), compacted at any size: each
    class counts min(its distinct values, cap), and holds no more than cap of them."""
    seen: defaultdict[int, set[int]] = defaultdict(set)
    with mock.patch.object(kanon, "_COMPACT_AT", compact_at):
        counts = kanon._PairCounts(cap)
        for batch in batches:
            counts.add(Pairs(_spread([c for c, _ in batch]),
                             np.array([v for _, v in batch], np.uint64)))
            for c, v in batch:
                seen[c].add(v)
            if data.draw(st.booleans()):  # asked between batches, which compacts
                assert counts.counts_of(_spread(list(range(8)))).tolist() == [
                    min(len(seen[c]), cap) for c in range(8)]  # 7 is never a class
                held = [(c, v) for partition in counts.partitions
                        for c, v in zip(partition.parts[0].classes.tolist(),
                                        partition.parts[0].values.tolist(), strict=True)]
                assert len(held) == counts.kept
                assert set(held) <= {(int(_spread([c])[0]), v)
                                     for c, values in seen.items() for v in values}
                assert max(Counter(c for c, _ in held).values(), default=0) <= cap


def _weakened(bits: int):
    """:func:`hash_texts` keeping only ``bits`` bits: collisions become common."""
    def weak(values, seed):
        return hash_texts(values, seed) & np.uint64((1 << bits) - 1)
    return weak


@settings(max_examples=120, deadline=None)
@given(_ROWS, st.integers(1, 4), st.integers(1, 3), st.sampled_from([None, "reason"]),
       st.integers(1, 7), st.sampled_from([1, 2, 3, 8]))
def test_hash_collisions_only_make_the_verdict_stricter(rows, k, l, sensitive, size,  # noqa: E741
                                                        bits):
    """With hashes cut to a few bits (people of a class pooled, classes sharing a hash),
    every class published still holds k people and l values, counted as plain sets."""
    batch = _batch(rows)
    with mock.patch.object(kanon, "hash_texts", _weakened(bits)):
        counter = ClassCounter(PrivacySpec(_QUASI, k, "person", sensitive, l))
        for part in pa.Table.from_batches([batch], batch.schema).to_batches(
                max_chunksize=size):
            counter.add(counter.measure(part))
        verdict = counter.verdict()
    keys = class_keys(batch, _QUASI).to_pylist()
    people, values = defaultdict(set), defaultdict(set)
    for key, person, value in zip(keys, _texts(batch, "person"), _texts(batch, "reason"),
                                  strict=True):
        people[key].add(person)
        values[key].add(value)
    kept = set(keys) - set(verdict.small.to_pylist())
    assert all(len(people[key]) >= k for key in kept)
    assert sensitive is None or all(len(values[key]) >= l for key in kept)
    assert verdict.classes == len(kept)
    assert verdict.rows_suppressed == sum(key not in kept for key in keys)


def _first_character_hash(values, seed):
    """Classes whose texts start alike hash alike; people named by one letter do not."""
    return hash_texts(pc.utf8_slice_codeunits(values, 0, 1), seed)


def test_classes_sharing_a_hash_are_suppressed_not_pooled():
    """Two classes of 3 people each under one hash would pool to 6 and pass k = 5."""
    spec = PrivacySpec(("band", "dep"), 5, "person")
    ours = pa.table({"band": ["20-29"] * 3, "dep": ["69"] * 3, "person": list("abc")})
    other = pa.table({"band": ["20-29"] * 3, "dep": ["75"] * 3, "person": list("def")})
    with mock.patch.object(kanon, "hash_texts", _first_character_hash):
        for published, judged in ((None, pa.concat_tables([ours, other])), (other, ours)):
            counter = ClassCounter(spec)
            if published is not None:  # the other class only in the published rows
                counter.seed(published)
            for batch in judged.to_batches():
                counter.add(counter.measure(batch))
            verdict = counter.verdict()
            assert verdict.rows_suppressed == judged.num_rows and verdict.classes == 0
            assert counter.people.counts_of(
                _first_character_hash(pa.array(["20-29\x1f69"]), counter.hash_seed)) == [6]


# -- typing once per distinct value ----------------------------------------------------

_CELLS = {
    "date": ["2019-08-09", " 2019-08-09 ", "2020-02-30", "1899-12-31", "1935-06-01", "2030-01-01",
             "2019-8-9", "Fri Aug 9 2019", "Sat Aug 9 2019", "Sun Feb 30 2020", "fri aug  09 2019"],
    "float": ["1", "1.5", "-3", "1e999", "nan", "007", "１２", "2000", " 28 "],
    "int": ["1", "-3", "12345678901234567890", "007", "١٢"],
    "score": ["3-1", "10-0", "3 - 1", "1000-1", "?", "3-"],
    "nir": ["1 84 12 76 451 089 46", "184127645108946", "184127645108947",
            "2 84 12 2A 451 089 46", "1.84.12.76.451.089.46", "1 84 I2 76 451 O89 46"],
    "string": ["69001", "20100", "97200", "97800", "00100", " 75011", "Lyon Part-Dieu",
               "Nanterre Campus", "I", "XXII", "Ⅱ", "35600000000048", "73282932000074",
               "12345678901234", "Dupont", "DUPONT ", "Dupont  Jean", "=cmd|' /C calc'!A0",
               "+33 6 12 34 56 78", "Ã©lodie", "r\u00e9union\u0301", "a\u200bb", "N/A", "\x07"],
}
_GENERIC = [None, "", "  ", "?", "-", "é", "ｌ", "२०"]


def _typed_both_ways(batch: pa.RecordBatch, contract):
    from datetime import date

    from lakeguard.transforms import parse

    by_distinct = parse.type_batch(batch, contract, 1, date(2026, 12, 7))
    with pytest.MonkeyPatch.context() as patched:  # the row path: nothing encoded
        patched.setattr(parse, "_distinct", lambda raw: (raw, None))
        by_row = parse.type_batch(batch, contract, 1, date(2026, 12, 7))
    assert by_distinct.clean.equals(by_row.clean)
    assert by_distinct.rejects == by_row.rejects and by_distinct.warnings == by_row.warnings
    assert by_distinct.sensitive.equals(by_row.sensitive)
    return by_distinct


@pytest.mark.parametrize("dataset", ["absences", "matches"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_typing_by_distinct_value_is_typing_row_by_row(dataset, data):
    """Typed columns, rejects, warnings and raw identifiers are those of the row path."""
    from lakeguard.contracts import load_contract

    contract = load_contract(dataset)
    rows = data.draw(st.integers(0, 40))
    columns = {}
    for column in contract.columns:
        pool = _CELLS.get(column.type, []) + _CELLS["string"][:6] + _GENERIC
        cell = st.one_of(st.sampled_from(pool), TEXT.filter(lambda t: len(t) < 12))
        cells = data.draw(st.lists(cell, min_size=1, max_size=8))  # rows repeat them
        columns[column.source] = pa.array(data.draw(st.lists(
            st.sampled_from(cells), min_size=rows, max_size=rows)), pa.string())
    _typed_both_ways(pa.RecordBatch.from_pydict(columns), load_contract(dataset))


@pytest.fixture(scope="module")
def absences_batch() -> pa.RecordBatch:
    from lakeguard.contracts import load_contract
    from lakeguard.samples.absences import generate
    from lakeguard.transforms.csvfile import open_csv

    csv = open_csv(generate(300, seed=3).encode(), load_contract("absences"))
    return pa.Table.from_batches(list(csv)).combine_chunks().to_batches()[0]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_typing_generated_absences_with_hostile_cells_by_distinct_value(absences_batch, data):
    """Mostly valid rows (so clean holds rows to compare), some cells made hostile."""
    from lakeguard.contracts import load_contract

    contract = load_contract("absences")
    columns = {name: absences_batch.column(name).to_pylist()
               for name in absences_batch.schema.names}
    for _ in range(data.draw(st.integers(0, 30))):
        name = data.draw(st.sampled_from(sorted(columns)))
        row = data.draw(st.integers(0, absences_batch.num_rows - 1))
        columns[name][row] = data.draw(st.one_of(
            st.none(), st.sampled_from(_GENERIC + _CELLS["string"] + _CELLS["date"] + _CELLS["float"]),
            TEXT.filter(lambda t: len(t) < 12)))
    typed = _typed_both_ways(pa.RecordBatch.from_pydict(
        {name: pa.array(values, pa.string()) for name, values in columns.items()}), contract)
    assert typed.clean.num_rows > absences_batch.num_rows // 2


# -- raw identifiers of a batch --------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-3_000_000, 3_000_000)), max_size=40))
def test_birth_dates_are_written_as_strftime_writes_them(days):
    """Every date32 Arrow holds, years before 0 and after 9999 included."""
    from lakeguard.identifiers.rawvalues import yyyymmdd

    dates = pa.array(days, pa.int32()).cast(pa.date32())
    assert yyyymmdd(dates).equals(pc.strftime(dates, format="%Y%m%d"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(_CELLS["nir"] + _GENERIC),
                          TEXT.filter(lambda t: len(t) < 24)), max_size=40))
def test_a_nir_columns_identifiers_are_its_canonical_distinct_texts(cells):
    """Distinct texts, then the canonical form of each, in the order of the plain definition."""
    from lakeguard.contracts import load_contract
    from lakeguard.identifiers import nir
    from lakeguard.identifiers.rawvalues import identifier_values

    column = next(c for c in load_contract("absences").columns if c.type == "nir")
    text = pa.array(cells, pa.string())
    distinct = pc.unique(text.drop_null())
    plain = pa.concat_arrays([distinct, pc.unique(nir.canonical(distinct))])
    tagged = identifier_values(text, nir.canonical(text), column)
    assert tagged.to_pylist() == [f"{column.identifies}\x1f{v}" for v in plain.to_pylist()]


# -- redaction patterns, each run only where it can match ------------------------------

def _every_pattern_on_every_cell(folded: pa.Array) -> pa.Array:
    """The definition: each pattern in order on every cell (the IBAN's on cells written
    with 10 digits), then the phone library on every international candidate."""
    import re

    from lakeguard.privacy.detectors import PATTERNS, PHONE_CANDIDATE, is_phone

    written = pc.fill_null(pc.count_substring_regex(folded, "[0-9]"), 0)
    values = folded
    for kind, pattern, replacement in PATTERNS:
        replaced = pc.replace_substring_regex(values, pattern=pattern, replacement=replacement)
        values = pc.if_else(pc.greater_equal(written, 10), replaced, values) if kind == "IBAN" \
            else replaced
    candidate = re.compile(PHONE_CANDIDATE)
    return pa.array([None if text is None else candidate.sub(
        lambda m: "[PHONE]" if is_phone(m.group()) else m.group(), text)
        for text in values.to_pylist()], pa.string())


#: Pieces of comments: identifiers of every kind, in the spellings the patterns read,
#: and their near misses (too few digits, a letter among them).
_PIECES = st.sampled_from([
    "06 12 34 56 78", "0612345678", "+33 (0)6 12 34 56 78", "0033612345678", "+44 20 7946 0958",
    "06 12 34 56 7", "1 84 12 76 451 089 46", "184122a451089", "1 84 12 2b 451 089",
    "18412764510", "12/03/1985", "1/3/85", "1985-03-12", "12031985", "120385", "1er mars",
    "3 mars 1985", "12 mars", "75011", "20100", "99000", "fr76 3000 6000 0112 3456 7890 189",
    "ab12 cdef ghij klmn", "au12 mars 2024 pour", "jean.dupont@exemple.fr", "j2 at ex dot fr",
    "x12345678@mail.fr", "x12345678@mail.fr ab12 cdef ghij klmn", "rappeler au", "le", " ",
    ", ", "/", "-", "1", "12", "123", "1234"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.one_of(_PIECES, TEXT.filter(
    lambda t: len(t) < 8)), max_size=8).map(" ".join)), max_size=30), st.integers(0, 3))
def test_redaction_is_every_pattern_on_every_cell(cells, skip):
    from lakeguard.identifiers.normalise import fold
    from lakeguard.privacy.detectors import redact_patterns

    folded = fold(pa.array(cells, pa.string())).slice(min(skip, len(cells)))
    assert redact_patterns(folded).equals(_every_pattern_on_every_cell(folded))


def test_redaction_of_the_adversarial_corpus_is_every_pattern_on_every_cell():
    import io
    from datetime import date

    import pyarrow.csv as pacsv

    from lakeguard.identifiers.normalise import fold
    from lakeguard.privacy.detectors import redact_patterns
    from lakeguard.samples.absences import generate
    from lakeguard.samples.adversarial import plant

    text, _ = plant(generate(2000, seed=1616, first=date(2024, 12, 1), days=31), seed=16)
    table = pacsv.read_csv(io.BytesIO(text.encode()), parse_options=pacsv.ParseOptions(
        delimiter=";"), convert_options=pacsv.ConvertOptions(column_types={
            "commentaire": pa.string()}))
    folded = pc.unique(fold(table.column("commentaire").combine_chunks()))
    redacted = redact_patterns(folded)
    assert redacted.equals(_every_pattern_on_every_cell(folded))
    assert pc.sum(pc.not_equal(redacted, folded)).as_py() > 100  # the corpus does hold identifiers


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT, _PIECES), max_size=40), st.integers(0, 5))
def test_ascii_digits_is_the_regex_count(cells, skip):
    from lakeguard.privacy.detectors import ascii_digits

    values = pa.array(cells, pa.string()).slice(min(skip, len(cells)))
    assert ascii_digits(values).equals(pc.fill_null(pc.count_substring_regex(values, "[0-9]"), 0))


@pytest.mark.parametrize("pattern, need", list(_DIGITS_NEEDED.items()),
                         ids=[f"need{n}-{i}" for i, n in enumerate(_DIGITS_NEEDED.values())])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_match_of_a_pattern_holds_the_digits_it_is_said_to_need(pattern, need, data):
    """Strings drawn from the expression itself (``\\d`` ASCII, as RE2 reads it)."""
    import re

    match = data.draw(st.from_regex(re.compile(pattern, re.ASCII), fullmatch=True))
    assume(pc.match_substring_regex(pa.array([match]), pattern)[0].as_py())  # Python's \s has \v
    assert sum(c in "0123456789" for c in match) >= need


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(
    ["12", "0612", "75011", "a", " ", "-", "1985", "x9"]), max_size=6).map("".join)), max_size=30),
    st.lists(st.sampled_from(["12", "75011", "1985", "9", "0612"]), max_size=4, unique=True))
def test_cells_with_a_piece_are_those_whose_split_holds_one(cells, values):
    """The plain definition: split each cell on its non-digits, look each piece up."""
    import re

    from lakeguard.privacy.leakguard import _runs_in

    found = _runs_in(pa.array(cells, pa.string()), pa.array(values, pa.string())).to_pylist()
    assert found == [cell is not None and bool(values) and any(
        piece in values for piece in re.split(r"[^0-9]+", cell)) for cell in cells]
