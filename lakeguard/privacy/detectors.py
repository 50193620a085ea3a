"""Identifier patterns of this domain, found in folded text and replaced span by span.

Every pattern reads text already folded by :func:`lakeguard.identifiers.normalise.fold`
(lower case, ASCII digits, no accents, no invisible characters), so one expression covers
every spelling of an identifier. Each match is replaced in place by its kind (``[NIR]``,
``[PHONE]`` ...) and the rest of the text is kept: a comment is published without its
identifiers instead of holding back the whole file.

Kinds, in the order they are replaced (longer and more specific first):

``EMAIL``
    addresses, spelled-out ones included (``jean at exemple dot fr``, ``[at]``,
    ``(arobase)``, ``(point)``).
``IBAN``
    two letters, two digits, then groups of four.
``NIR``
    13 characters (sex, year, month, departement with Corsica's ``2a``/``2b``, commune,
    order) with or without the 2-digit key, with up to three separators of any kind
    between any two characters or none, glued to a word or not. The month and the
    departement must be valid; the key is not required to match (a mistyped NIR still
    identifies its holder).
``PHONE``
    French numbers (``06 12 34 56 78``, ``06/12/34/56/78``, ``+33 (0)6 ...``,
    ``0033 6 ...``) by expression; any other ``+`` or ``00`` international candidate is
    checked with Google's ``phonenumbers`` library and replaced only if it is a valid number.
``DATE``
    full dates in the common French forms, day, month and year separated by up to three
    characters of any kind: ``12/03/1985``, ``12-03-85``, ``12.03.1985``, ``12 03 85``,
    ``1985-03-12``, ``12031985``, ``12 mars 1985``, ``1er mars``.
``POSTCODE``
    five-digit numbers shaped as French postcodes (``01000``-``98999``).

Honorifics followed by a word (``dr martin``, ``maitre durand``) and the raw identifiers
of the object are found word by word in :mod:`lakeguard.identifiers.words`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Up to three characters that are neither letters nor digits: what people put between
#: the digits of an identifier (spaces, dots, dashes, slashes, parentheses ...). Folded
#: text is ASCII but for other scripts' letters, which count as separators here: ASCII
#: classes keep RE2 on its DFA (Unicode ones made the NIR expression 25x slower).
SEP = r"[^a-zA-Z0-9]{0,3}"
#: Start of a number: the text's start or a character that is not a digit, kept by ``\1``.
_START = r"(^|[^0-9])"


def spaced(*parts: str) -> str:
    """Join character patterns with optional separators between them."""
    return SEP.join(parts)


_MONTHS_NIR = "(?:" + "|".join(spaced(a, b) for a, b in (
    ("0", "[1-9]"), ("1", "[0-2]"), ("2", "0"), ("3", r"\d"), ("4", "[0-2]"),
    ("[5-9]", r"\d"))) + ")"
_DEPARTEMENT = "(?:" + spaced(r"\d", r"\d") + "|" + spaced("2", "[ab]") + ")"
NIR = (_START + spaced("[1-478]", r"\d", r"\d", _MONTHS_NIR, _DEPARTEMENT, *[r"\d"] * 6)
       + "(?:" + SEP + spaced(r"\d", r"\d") + ")?")

_AT = (r"(?:\s*@\s*|\s*[\[\(\{<]\s*(?:at|arobase|a)\s*[\]\)\}>]\s*"
       r"|\s+(?:at|arobase)\s+)")
_DOT = (r"(?:\s*\.\s*|\s*[\[\(\{<]\s*(?:dot|point|pt)\s*[\]\)\}>]\s*"
        r"|\s+(?:dot|point)\s+)")
_LABEL = r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
EMAIL = (r"[a-z0-9][a-z0-9._%+\-]*" + _AT + _LABEL + "(?:" + _DOT + _LABEL + ")*" + _DOT
         + r"[a-z]{2,24}\b")

IBAN = r"\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){3,7}(?: ?[a-z0-9]{1,3})?\b"

_PHONE_SEP = r"[^a-zA-Z0-9]{0,3}"
PHONE_FR = (_START + r"(?:(?:\+|00)" + _PHONE_SEP + "33" + _PHONE_SEP
            + r"(?:\(" + _PHONE_SEP + "0" + _PHONE_SEP + r"\)" + _PHONE_SEP + "|0" + _PHONE_SEP
            + ")?|0)" + _PHONE_SEP.join(["[1-9]", *[r"\d"] * 8]))
#: International candidates for the library (RE2 and Python ``re`` read it alike).
PHONE_CANDIDATE = r"(?:\+|\b00)[^a-zA-Z0-9]{0,3}[1-9](?:[^a-zA-Z0-9]{0,3}[0-9]){6,14}"

_D = r"(?:[12]\d|3[01]|0?[1-9])"  # longest first: RE2 takes the first that fits
_M = r"(?:1[0-2]|0?[1-9])"
_Y = r"(?:(?:19|20)\d\d|\d\d)"
_DS = r"[^a-zA-Z0-9]{1,3}"
MONTH_NAMES = ("janvier", "janv", "fevrier", "fevr", "fev", "mars", "avril", "avr", "mai",
               "juin", "juillet", "juil", "aout", "septembre", "sept", "octobre", "oct",
               "novembre", "nov", "decembre", "dec")
DATES = (
    _START + _D + _DS + _M + _DS + _Y,
    _START + r"(?:19|20)\d\d" + _DS + _M + _DS + _D,
    _START + r"(?:(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d\d"
    r"|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))",
    _START + r"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d\d([^0-9]|$)",
    _START + r"(?:1er|" + _D + r")[^a-zA-Z0-9]{0,3}(?:de )?(?:" + "|".join(MONTH_NAMES)
    + r")\b\.?(?:[^a-zA-Z0-9]{0,3}(?:19|20)?\d\d\b)?",
)

POSTCODE = _START + r"(?:0[1-9]|[1-8]\d|9[0-8])\d{3}([^0-9]|$)"

#: (kind, pattern, replacement): the order matters, see the module docstring.
PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("EMAIL", EMAIL, "[EMAIL]"),
    ("IBAN", IBAN, "[IBAN]"),
    ("NIR", NIR, r"\1[NIR]"),
    ("PHONE", PHONE_FR, r"\1[PHONE]"),
    *(("DATE", date, r"\1[DATE]\2" if date.endswith("|$)") else r"\1[DATE]")
      for date in DATES),
    ("POSTCODE", POSTCODE, r"\1[POSTCODE]\2"),
    ("POSTCODE", POSTCODE, r"\1[POSTCODE]\2"),  # a second pass: neighbours share a boundary
)

_CANDIDATE = re.compile(PHONE_CANDIDATE)


@lru_cache(maxsize=1 << 16)
def is_phone(candidate: str) -> bool:
    """Whether ``phonenumbers`` reads ``candidate`` as a valid number (France by default).

    The library is imported on the first candidate, not with the module: its metadata is
    14 ms of every Clean cold start, and most objects hold no ``+``/``00`` number at all.
    """
    import phonenumbers

    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(candidate, "FR")))
    except phonenumbers.NumberParseException:
        return False


def _library_phones(text: str) -> str:
    return _CANDIDATE.sub(lambda m: "[PHONE]" if is_phone(m.group()) else m.group(), text)


#: ASCII digits every match of each pattern holds, so a cell holding fewer is left as it is
#: (``tests/unit/test_redaction.py`` draws matches of each expression to hold them to it).
#: A NIR without its key holds 12 when Corsica's 2A or 2B replaces two of them.
_DIGITS_NEEDED: dict[str, int] = {EMAIL: 0, NIR: 12, PHONE_FR: 10, **dict(
    zip(DATES, (4, 6, 8, 6, 1), strict=True)), POSTCODE: 5}
#: Kinds run only on cells *written* with this many digits: more than their expression
#: needs (an IBAN's groups may be letters), a figure of real identifiers, so it is held
#: to the cell as it came, before any earlier kind was replaced.
_DIGITS_WRITTEN = {"IBAN": 10}
#: Byte value -> 1 for the ASCII digits. No other character's UTF-8 bytes fall among them.
_ASCII_DIGIT = np.zeros(256, np.int32)
_ASCII_DIGIT[ord("0"):ord("9") + 1] = 1


def ascii_digits(values: pa.Array) -> pa.Array:
    """Per cell, how many ASCII digits it holds (0 for null).

    ``count_substring_regex(values, "[0-9]")`` counted on the UTF-8 bytes instead, at a
    third of its cost: one cumulative sum over the column's bytes.
    """
    if not pa.types.is_string(values.type):
        return pc.fill_null(pc.count_substring_regex(values, "[0-9]"), 0)
    _, offset_buffer, data = values.buffers()
    ends = np.frombuffer(offset_buffer, np.int32)[values.offset:values.offset + len(values) + 1]
    start = int(ends[0])
    offsets = ends - start
    text = np.frombuffer(data, np.uint8, count=int(offsets[-1]), offset=start) \
        if data is not None else np.zeros(0, np.uint8)
    running = np.zeros(len(text) + 1, np.int32)
    np.cumsum(_ASCII_DIGIT[text], out=running[1:])
    counts = pa.array(running[offsets[1:]] - running[offsets[:-1]], pa.int32())
    return pc.if_else(values.is_valid(), counts, pa.scalar(0, pa.int32())) if values.null_count \
        else counts


def redact_patterns(folded: pa.Array) -> pa.Array:
    """Replace every identifier of :data:`PATTERNS` (and library phones) by its kind.

    A pattern runs only on the cells holding as many digits as its matches do, counted
    again after each replacement (a phone replaced leaves no digits for the dates and
    postcodes to look at): most comments hold none or only the one identifier, and every
    expression run on a cell costs more than counting. A cell left out is one the pattern
    cannot change, so the result is that of every pattern on every cell (the IBAN's on
    the cells written with its digits).
    """
    values = folded
    written = digits = ascii_digits(values)
    for kind, pattern, replacement in PATTERNS:
        if kind in _DIGITS_WRITTEN:
            need = pc.greater_equal(written, _DIGITS_WRITTEN[kind])
        else:
            need = pc.greater_equal(digits, _DIGITS_NEEDED[pattern])
        if not pc.any(need).as_py():
            continue
        if pc.all(need).as_py():
            values = pc.replace_substring_regex(values, pattern=pattern, replacement=replacement)
        else:
            subset = pc.replace_substring_regex(pc.filter(values, need), pattern=pattern,
                                                replacement=replacement)
            values = pc.replace_with_mask(values, need, subset)
        digits = ascii_digits(values)
    candidates = pc.fill_null(pc.match_substring_regex(values, PHONE_CANDIDATE), False)
    if pc.any(candidates).as_py():
        found = pc.filter(values, candidates).to_pylist()
        values = pc.replace_with_mask(values, candidates,
                                      pa.array([_library_phones(t) for t in found], pa.string()))
    return values
