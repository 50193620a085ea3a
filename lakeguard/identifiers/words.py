"""Identifiers found word by word in folded free text, and replaced in place.

A name is found as its words: every word of a multi-word name (``Jean-Pierre``, ``de La
Fontaine``, ``Nguyen Van Minh``) is looked for on its own, short names (``Li``, ``Ng``)
included, so writing one word of a surname or its initial-less part is caught. Particles
and articles (``de``, ``la``, ``van`` ...) are not names on their own: they would blank out
every sentence. A word after an honorific (``dr``, ``maitre``, ``mme``, ``m.``) is a name
even when the object does not hold it (a doctor, a lawyer).

Text is cut into alternating pieces, non-word then word, with Arrow kernels: a word is
replaced by ``[KIND]`` where it matches, and the pieces are joined back, so everything
between the words (spaces, punctuation, placeholders) is kept as it was.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.identifiers.normalise import fold

#: Words that are parts of names but not names on their own, in folded form.
PARTICLES = frozenset({
    "de", "du", "des", "la", "le", "les", "l", "d", "et", "a", "au", "aux", "en", "un", "une",
    "van", "von", "der", "den", "da", "di", "del", "della", "dos", "das", "do", "y", "el",
    "al", "ben", "bin", "ibn", "ou", "sur", "par", "pour", "avec", "st", "ste", "dit", "dite",
})
#: Honorifics after which the next word is a name, whatever the object holds.
HONORIFICS = frozenset({"dr", "docteur", "pr", "professeur", "maitre", "monsieur", "madame",
                        "mademoiselle", "mme", "mlle", "mr"})
#: Honorifics that are also ordinary words: a name follows only when a dot does (``m.``).
HONORIFICS_DOTTED = frozenset({"m", "me"})
#: Words that commonly follow an honorific without being a name.
NOT_NAMES = PARTICLES | HONORIFICS | HONORIFICS_DOTTED | frozenset({
    "traitant", "traitante", "generaliste", "specialiste", "garde", "famille", "travail",
    "medecin", "conseil", "chef", "directeur", "directrice", "responsable"})
#: Shortest name word looked for (two letters: ``Li``, ``Ng``, ``Ba``).
MIN_WORD = 2
_WORD = r"(\p{L}+)"
_MARK = "\x1f"  # folded text holds no control character


def pieces(folded: pa.Array) -> pa.ListArray:
    """Each cell as ``[non-word, word, non-word, word, ..., non-word]`` (words at odd places)."""
    marked = pc.replace_substring_regex(folded, _WORD, _MARK + r"\1" + _MARK)
    split: pa.ListArray = pc.split_pattern(marked, _MARK)
    return split


def _positions(lists: pa.ListArray) -> pa.Array:
    """Index of every flattened piece within its own list."""
    flat_length = len(pc.list_flatten(lists))
    starts = pc.take(lists.offsets.slice(0, len(lists)), pc.list_parent_indices(lists))
    return pc.subtract(pa.array(np.arange(flat_length, dtype=np.int64)), pc.cast(starts, pa.int64()))


def identifier_words(values: pa.Array) -> pa.Array:
    """Distinct folded words of raw identifiers, particles and one-letter initials left out."""
    words = pc.list_flatten(pc.split_pattern_regex(fold(values.drop_null()),
                                                   pattern=r"[^\p{L}]+"))
    words = pc.unique(words)
    keep = pc.and_(pc.greater_equal(pc.utf8_length(words), MIN_WORD),
                   pc.invert(pc.is_in(words, value_set=pa.array(sorted(PARTICLES)))))
    return words.filter(keep)


def redact_words(folded: pa.Array, names: pa.Array, kind: str = "NAME") -> pa.Array:
    """Replace words found in ``names`` and words after an honorific by ``[kind]``."""
    if len(folded) == 0:
        return folded
    lists = pieces(folded)
    flat = pc.list_flatten(lists)
    if len(flat) == 0:
        return folded
    position = _positions(lists)
    is_word = pc.equal(pc.bit_wise_and(position, 1), 1)
    hit = pc.and_(is_word, pc.is_in(flat, value_set=names)) if len(names) else \
        pa.repeat(False, len(flat))
    hit = pc.or_(hit, _after_honorific(flat, position, is_word))
    if not pc.any(hit).as_py():
        return folded
    replaced = pc.if_else(hit, f"[{kind}]", flat)
    joined = pa.ListArray.from_arrays(lists.offsets, replaced, mask=lists.is_null())
    return pc.binary_join(joined, "")


def _after_honorific(flat: pa.Array, position: pa.Array, is_word: pa.Array) -> pa.Array:
    """Words two pieces after an honorific of the same cell (``dr``, then ``. ``, then it)."""
    if len(flat) < 3:
        return pa.repeat(False, len(flat))
    title, gap = flat.slice(0, len(flat) - 2), flat.slice(1, len(flat) - 2)
    same_cell = pc.greater_equal(position.slice(2), 3)
    plain = pc.and_(pc.is_in(title, value_set=pa.array(sorted(HONORIFICS))),
                    pc.match_substring_regex(gap, r"^[ .]+$"))
    dotted = pc.and_(pc.is_in(title, value_set=pa.array(sorted(HONORIFICS_DOTTED))),
                     pc.match_substring_regex(gap, r"^\. *$"))
    word = flat.slice(2)
    name = pc.and_(pc.greater_equal(pc.utf8_length(word), MIN_WORD),
                   pc.invert(pc.is_in(word, value_set=pa.array(sorted(NOT_NAMES)))))
    found = pc.and_(pc.and_(same_cell, pc.or_(plain, dotted)), name)
    found = pc.and_(found, is_word.slice(2))
    return pa.concat_arrays([pa.array([False, False]), found])


def redact_row_words(folded: pa.Array, row_values: list[pa.Array], kind: str) -> pa.Array:
    """Replace, in each cell, the words of that same row's values (``row_values``) by ``[kind]``.

    A job title is not an identifier in another person's comment ("rdv avocat"), but it
    is one next to the row it describes. Values are folded and split once per distinct
    value; only cells holding a word of some row's value are then keyed by row and
    compared, the others pass untouched.
    """
    if len(folded) == 0 or not row_values:
        return folded
    encoded = [pc.dictionary_encode(v) for v in row_values]
    split = [pc.split_pattern_regex(fold(e.dictionary), pattern=r"[^\p{L}]+") for e in encoded]
    any_word = pc.unique(pa.concat_arrays([pc.list_flatten(w) for w in split]))
    any_word = any_word.filter(pc.and_(pc.greater_equal(pc.utf8_length(any_word), MIN_WORD),
                                       pc.invert(pc.is_in(any_word, value_set=pa.array(
                                           sorted(PARTICLES))))))
    if not len(any_word):
        return folded
    texts = pc.dictionary_encode(folded)
    words_of_texts = pc.split_pattern_regex(texts.dictionary, pattern=r"[^\p{L}]+")
    holds = pc.is_in(pc.list_flatten(words_of_texts), value_set=any_word)
    holding = pc.unique(pc.filter(pc.list_parent_indices(words_of_texts), holds))
    rows_to_check = pc.fill_null(pc.is_in(texts.indices, value_set=holding.cast(
        texts.indices.type)), False)
    if not pc.any(rows_to_check).as_py():
        return folded
    checked = _own_words(pc.filter(folded, rows_to_check),
                         [pc.filter(e, rows_to_check) for e in encoded], any_word, kind)
    return pc.replace_with_mask(folded, rows_to_check, checked)


def _own_words(folded: pa.Array, encoded: list[pa.DictionaryArray], any_word: pa.Array,
               kind: str) -> pa.Array:
    """:func:`redact_row_words` on the rows that hold a candidate word."""
    split = [pc.split_pattern_regex(fold(e.dictionary), pattern=r"[^\p{L}]+") for e in encoded]
    lists = pieces(folded)
    flat = pc.list_flatten(lists)
    is_word = pc.equal(pc.bit_wise_and(_positions(lists), 1), 1)
    candidate = pc.and_(is_word, pc.is_in(flat, value_set=any_word))
    if not pc.any(candidate).as_py():
        return folded
    owners = pc.list_parent_indices(lists)
    rows = pc.filter(owners, candidate)
    keys = pc.binary_join_element_wise(pc.cast(rows, pa.string()), pc.filter(flat, candidate),
                                       _MARK)
    own = []
    for codes, words in zip(encoded, split, strict=True):
        mine = pc.take(words, pc.take(codes.indices, pc.unique(rows)))  # candidate rows only
        parents = pc.take(pc.unique(rows), pc.list_parent_indices(mine))
        own.append(pc.binary_join_element_wise(pc.cast(parents, pa.string()),
                                               pc.list_flatten(mine), _MARK))
    matched = pc.is_in(keys, value_set=pa.concat_arrays(own))
    hit = pc.replace_with_mask(candidate, candidate, matched)
    replaced = pc.if_else(hit, f"[{kind}]", flat)
    joined = pa.ListArray.from_arrays(lists.offsets, replaced, mask=lists.is_null())
    return pc.binary_join(joined, "")
