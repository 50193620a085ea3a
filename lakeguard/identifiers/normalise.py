"""One normal form for every detector: what is compared is what a reader would see.

People write identifiers in ways that differ byte for byte but read the same: accents
stripped or decomposed, full-width digits, soft hyphens and zero-width spaces between
letters, Cyrillic or Greek letters that look Latin. Detectors that match bytes miss them
all. :func:`fold` maps every such spelling to one form, in this order:

1. invisible characters removed (format characters such as soft hyphens, zero-width
   spaces and joiners, bidirectional marks; variation selectors; fillers; control
   characters), tabs and line breaks turned into spaces;
2. Unicode NFKC (full-width and mathematical letters and digits become ASCII, ligatures
   are split, non-breaking spaces become spaces);
3. every space becomes ``" "``, every dash ``"-"``, every apostrophe ``"'"``;
4. lower case;
5. accents removed (NFKD, then combining marks dropped), and the Latin letters that
   carry no decomposable accent spelled in ASCII (``œ`` -> ``oe``, ``ø`` -> ``o``);
6. look-alike letters and digits of other scripts become the ASCII ones they imitate
   (:mod:`lakeguard.identifiers.confusables`, from Unicode's confusables data, lower-case
   forms included; the decimal digits of every script become ASCII digits). Last, so
   only the rare cells still holding a non-ASCII character pay for it.

The raw identifiers the guard looks for and the text it scans go through the same
function, so both sides meet in one form. A free-text column published by ``redact`` is
published in this form: what the detectors cleared is exactly what is published.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.identifiers.confusables import LOOK_ALIKES

#: Characters that render as nothing: format characters (soft hyphen, zero-width space,
#: joiners, word joiner, bidirectional marks, byte-order mark, tags), the combining
#: grapheme joiner, Mongolian and Khmer invisible vowels, Hangul fillers, variation
#: selectors, the Braille blank, and control characters other than whitespace.
INVISIBLE = (r"[\p{Cf}\x{034F}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{3164}"
             r"\x{FE00}-\x{FE0F}\x{FFA0}\x{2800}\x{E0100}-\x{E01EF}"
             r"\x00-\x08\x0E-\x1F\x7F-\x9F]")
_BREAKS = r"[\t\n\r\x0B\x0C\p{Z}]"
_DASHES = r"\p{Pd}|\x{2212}"
_APOSTROPHES = r"[\x{2018}\x{2019}\x{201A}\x{201B}\x{2032}\x{02BC}\x{02B9}\x{00B4}]"
#: Latin letters NFKD does not decompose, spelled as a French reader would.
_SPELLED = {"œ": "oe", "æ": "ae", "ø": "o", "ß": "ss", "đ": "d", "ð": "d", "ł": "l",
            "ı": "i", "ħ": "h", "þ": "th", "ŀ": "l", "ĸ": "k"}  # noqa: RUF001
#: One character class per ASCII target: a replacement pass per target, run only on the
#: few cells that still hold a non-ASCII character when they get there.
_LOOK_ALIKE_CLASSES = {target: "[" + "".join(
    f"\\x{{{ord(c):04X}}}" for c in chars) + "]" for target, chars in LOOK_ALIKES.items()}


def fold(values: pa.Array) -> pa.Array:
    """The normal form of every cell (nulls stay null); see the module docstring.

    ASCII cells (the usual case) only need their control characters and case handled,
    with ASCII kernels; the full sequence runs on the others only.
    """
    if len(values) == 0:
        return pa.array([], pa.string())
    values = values.cast(pa.string())
    ascii_only = pc.fill_null(pc.string_is_ascii(values), True)
    if pc.all(ascii_only).as_py():
        return _ascii(values)
    folded = pc.replace_with_mask(values, pc.invert(ascii_only),
                                  _unicode(pc.filter(values, pc.invert(ascii_only))))
    return pc.replace_with_mask(folded, ascii_only, _ascii(pc.filter(values, ascii_only)))


def _ascii(values: pa.Array) -> pa.Array:
    """:func:`fold` of ASCII cells: whitespace to spaces, controls removed, lower case."""
    odd = pc.fill_null(pc.match_substring_regex(values, r"[\x00-\x1F\x7F]"), False)
    if pc.any(odd).as_py():
        fixed = pc.filter(values, odd)
        fixed = pc.replace_substring_regex(fixed, r"[\t\n\r\x0B\x0C]", " ")
        fixed = pc.replace_substring_regex(fixed, r"[\x00-\x1F\x7F]", "")
        values = pc.replace_with_mask(values, odd, fixed)
    return pc.ascii_lower(values)


def _unicode(values: pa.Array) -> pa.Array:
    """:func:`fold` of cells holding non-ASCII characters."""
    values = pc.replace_substring_regex(values, _BREAKS, " ")
    values = pc.replace_substring_regex(values, INVISIBLE, "")
    values = pc.utf8_normalize(values, form="NFKC")
    values = pc.replace_substring_regex(values, _BREAKS, " ")
    values = pc.replace_substring_regex(values, INVISIBLE, "")
    values = pc.replace_substring_regex(values, _DASHES, "-")
    values = pc.replace_substring_regex(values, _APOSTROPHES, "'")
    values = pc.utf8_lower(values)
    values = pc.utf8_normalize(values, form="NFKD")
    values = pc.replace_substring_regex(values, r"\p{Mn}", "")
    for letter, spelled in _SPELLED.items():
        values = pc.replace_substring(values, letter, spelled)
    still = pc.fill_null(pc.invert(pc.string_is_ascii(values)), False)
    if pc.any(still).as_py():
        values = pc.replace_with_mask(values, still, _look_alikes(pc.filter(values, still)))
    return values  # left decomposed: accents are gone, other scripts' letters need no NFC


def _look_alikes(values: pa.Array) -> pa.Array:
    for target, characters in _LOOK_ALIKE_CLASSES.items():
        values = pc.replace_substring_regex(values, characters, target)
    return values


def fold_text(text: str) -> str:
    """:func:`fold` of one string (for tools and messages; never in a per-row loop)."""
    return str(fold(pa.array([text], pa.string()))[0].as_py())
