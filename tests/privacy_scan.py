"""An independent scanner: plain Python, none of lakeguard's detectors, for the corpus tests.

It folds text its own way (NFKC, format characters dropped, a small look-alike table, case
and accents folded), joins digits separated by up to three other characters, and looks for
each case's needles: digit needles inside digit runs, word needles among words, e-mail
local parts as substrings. It reports where and which class, never the value.
"""

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_LOOK = str.maketrans({"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y",
                       "і": "i", "н": "h", "м": "m", "т": "t", "к": "k", "в": "b"})
_HEX = re.compile(r"\b[0-9a-f]{16,}\b")
#: The lake's own clock (``2026-12-07t01:09:48.123+00:00``, log times with a comma): joined,
#: a time of day such as 01:09:48 reads as the birth date 01/09/48 written ``010948``.
_CLOCK = re.compile(r"\b\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:z|[+-]\d{2}:?\d{2})?")
#: What Iceberg generates in its metadata JSON: UUIDs (file names, the metadata log) and
#: numbers under its hyphenated keys (``"timestamp-ms" : 1765...``, ``"total-records"``).
#: Random digits, joined by the scanner into runs where a 5-digit postcode turns up by
#: chance, one full run in a few; the lake's data never sits under such keys.
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_ICEBERG_NUMBER = re.compile(r'"[a-z]+(?:-[a-z]+)+"\s*:\s*"?\d+"?')


def normalise(text: str) -> str:
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = unicodedata.normalize("NFKC", text).lower().translate(_LOOK)
    text = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _digit_runs(text: str) -> list[str]:
    previous, joined = None, text
    while joined != previous:
        previous, joined = joined, re.sub(r"([0-9ab])[^a-z0-9]{1,3}([0-9ab])", r"\1\2", joined)
    return re.findall(r"[0-9ab]+", joined)


def findings(texts: dict[str, str], cases: Iterable[Any]) -> list[tuple[str, str]]:
    """(where, class) for every needle of ``cases`` found in ``texts`` ({where: text})."""
    needles = [(c.cls, n) for c in cases for n in c.needles]
    found = []
    for where, text in texts.items():
        norm = normalise(text)
        for generated in (_CLOCK, _UUID, _ICEBERG_NUMBER, _HEX):
            norm = generated.sub(" ", norm)
        runs = _digit_runs(norm)
        words = set(re.findall(r"[a-z]+", norm))
        for cls, needle in needles:
            if needle.isdigit() or re.fullmatch(r"[0-9ab]+", needle.lower()):
                hit = any(needle.lower() in run for run in runs)
            elif "." in needle:
                hit = needle in norm
            else:
                hit = needle in words
            if hit:
                found.append((where, cls))
    return found
