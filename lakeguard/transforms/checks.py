"""Strict checks of typed values: what parses but is still wrong.

Typing (:mod:`lakeguard.transforms.cast`) says whether a cell has the declared shape;
these checks say whether the value is real and plausible:

* a date must round-trip: formatted back with its own format, it reads as written, so
  ``Sat Feb 30 2020`` (rolled over to 1 March by the parser) and a weekday that
  contradicts the date are refused;
* dates and numbers stay within the contract's ``bounds`` (and no date column accepts a
  year before :data:`~lakeguard.contracts.model.FIRST_GREGORIAN_YEAR`);
* text holds no control character, no sign of lost characters (U+FFFD, noncharacters,
  a stray byte-order mark), and is flagged when it looks twice-encoded (mojibake).

Each check returns a :class:`Verdict`: a rule name, a reason that says how to fix it and
never quotes the value (the column may be personal), a severity and a row mask. Every
check is a vectorised Arrow kernel; the costlier ones (the date round trip, the text
patterns) run once per distinct value, and the round trip only on rows that may hide a
rollover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import FIRST_GREGORIAN_YEAR, Bounds, Column, Contract, Severity


@dataclass(frozen=True)
class Verdict:
    """Rows of one column that break one rule."""

    rule: str
    reason: str
    severity: Severity
    rows: pa.Array


def processing_day() -> date:
    """The day a value is checked on (UTC): ``max_days_ahead`` counts from it."""
    return datetime.now(UTC).date()


# -- dates -------------------------------------------------------------------------------

#: Weekday names as strftime writes them in the C locale (what Arrow parses and formats).
_WEEKDAYS = r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b"


def _comparable(text: pa.Array) -> pa.Array:
    """Text in a form where parse-then-format must give it back.

    strptime accepts any case, runs of spaces and missing leading zeros (``Aug 9``);
    strftime writes one form. Both sides are folded the same way before comparing.
    """
    folded = pc.replace_substring_regex(pc.utf8_lower(text), r"\s+", " ")
    return pc.replace_substring_regex(folded, r"(^|[^0-9])0+([0-9])", r"\1\2")


def _round_trip(text: pa.Array, date_format: str) -> tuple[pa.Array, pa.Array]:
    """Masks of distinct date texts that do not exist, and of weekdays that contradict."""
    parsed = pc.strptime(text, format=date_format, unit="s", error_is_null=True)
    back = _comparable(pc.strftime(parsed, format=date_format))
    written = _comparable(text)
    differs = pc.fill_null(pc.not_equal(written, back), False)
    if not pc.any(differs).as_py():
        return differs, differs
    undated = pc.not_equal(pc.replace_substring_regex(written, _WEEKDAYS, ""),
                           pc.replace_substring_regex(back, _WEEKDAYS, ""))
    impossible = pc.and_(differs, pc.fill_null(undated, False))
    return impossible, pc.and_(differs, pc.invert(impossible))


#: Directives that name the weekday or count days otherwise than in the month: with them
#: every date is compared, not only suspects.
_WHOLE_DATE_DIRECTIVES = ("%a", "%A", "%u", "%w", "%j", "%U", "%W", "%V")


def _suspects(text: pa.Array, typed: pa.Array, date_format: str) -> pa.Array:
    """Rows whose date may not round-trip.

    A parser rolls a day that does not exist (30 February, 31 April) over into the first
    three days of the next month, and only a day written 29, 30 or 31 can roll over; so
    only rows with both may hide one. A format that names the weekday (which any date may
    contradict) or counts days another way makes every row a suspect.
    """
    if any(directive in date_format for directive in _WHOLE_DATE_DIRECTIVES):
        return pc.is_valid(typed)
    early = pc.fill_null(pc.less_equal(pc.day(typed), 3), False)
    if not pc.any(early).as_py():
        return early
    late_day_written = pc.match_substring_regex(text.filter(early), "29|30|31")
    return pc.replace_with_mask(early, early, late_day_written)


def date_verdicts(text: pa.Array, typed: pa.Array, column: Column, contract: Contract,
                  today: date) -> list[Verdict]:
    """Round trip, then bounds, of a date column (``typed`` is its date32 array).

    Formatting and comparing strings costs more than parsing, so the round trip runs on
    the suspect rows only (:func:`_suspects`), once per distinct text.
    """
    assert column.date_format is not None  # the loader requires it
    fmt = column.date_format
    suspects = _suspects(text, typed, fmt)
    impossible = weekday = pa.repeat(False, len(text))
    if pc.any(suspects).as_py():
        encoded = pc.dictionary_encode(text.filter(suspects))
        for_suspects = [pc.take(mask, encoded.indices)
                        for mask in _round_trip(encoded.dictionary, fmt)]
        impossible, weekday = (pc.replace_with_mask(impossible, suspects, mask)
                               for mask in for_suspects)
    verdicts = [Verdict("date.impossible", f"no such day in that month (format {fmt!r}): the "
                        "parser would roll it over into the next month; correct the date at "
                        "the source", "error", impossible)]
    year = pc.year(typed)
    for bounds in column.bounds:
        verdicts += _date_bounds(year, typed, bounds, column, contract, today)
    if not any(b.severity == "error" and b.min_year is not None
               and b.min_year >= FIRST_GREGORIAN_YEAR for b in column.bounds):
        verdicts += _too_early(year, FIRST_GREGORIAN_YEAR, "error", column,
                               "the first year every engine reads alike: Spark and Arrow "
                               "count earlier days differently")
    # after the bounds: a two-digit year also contradicts its weekday, but says less
    verdicts.append(Verdict("date.weekday", f"the weekday contradicts the date (format "
                            f"{fmt!r}); correct the date or its weekday at the source", "error",
                            weekday))
    return verdicts


def _too_early(year: pa.Array, first: int, severity: Severity, column: Column,
               why: str) -> list[Verdict]:
    """Years before ``first``; those under 100 are most likely written with two digits."""
    early = pc.less(year, first)
    reason = f"year before {first} ({why})"
    two_digit = pc.and_(early, pc.less(year, 100))
    return [Verdict("date.too_early", f"{reason}: a two-digit year? the format "
                    f"{column.date_format!r} wants four digits", severity, two_digit),
            Verdict("date.too_early", reason, severity, pc.and_(early, pc.invert(two_digit)))]


def _date_bounds(year: pa.Array, typed: pa.Array, bounds: Bounds, column: Column,
                 contract: Contract, today: date) -> list[Verdict]:
    where = f"of column {column.name!r} in {contract.path}"
    verdicts = []
    if bounds.min_year is not None:
        verdicts += _too_early(year, bounds.min_year, bounds.severity, column,
                               f"bounds.min_year {where}")
    if bounds.max_days_ahead is not None:
        last = today + timedelta(days=bounds.max_days_ahead)
        verdicts.append(Verdict(
            "date.future", f"more than {bounds.max_days_ahead} day(s) after the day it was "
            f"processed (bounds.max_days_ahead {where})", bounds.severity,
            pc.greater(typed, pa.scalar(last, pa.date32()))))
    if bounds.max_year is not None:
        verdicts.append(Verdict("date.too_late", f"year after {bounds.max_year} "
                                f"(bounds.max_year {where})", bounds.severity,
                                pc.greater(year, bounds.max_year)))
    return verdicts


# -- numbers -----------------------------------------------------------------------------

def number_verdicts(typed: pa.Array, column: Column, contract: Contract,
                    name: str | None = None) -> list[Verdict]:
    """Finite floats, then bounds; ``name`` is the part of a score (home or away goals)."""
    verdicts = []
    if pa.types.is_floating(typed.type):
        verdicts.append(Verdict("number.not_finite", "not a finite number (beyond 1.8e308, or "
                                "inf/nan); write the value at the source", "error",
                                pc.invert(pc.is_finite(typed))))
    what = f"{name} of column {column.name!r}" if name else f"column {column.name!r}"
    for bounds in column.bounds:
        if bounds.min is not None:
            verdicts.append(Verdict("number.too_small", f"below {bounds.min:g} (bounds.min of "
                                    f"{what} in {contract.path})", bounds.severity,
                                    pc.less(typed, bounds.min)))
        if bounds.max is not None:
            verdicts.append(Verdict("number.too_large", f"above {bounds.max:g} (bounds.max of "
                                    f"{what} in {contract.path})", bounds.severity,
                                    pc.greater(typed, bounds.max)))
    return verdicts


# -- text --------------------------------------------------------------------------------

#: C0 and C1 controls and DEL. Free text may hold tab and line breaks; nothing else may.
_CONTROL = r"[\x{0}-\x{1F}\x{7F}-\x{9F}]"
_CONTROL_IN_FREE_TEXT = r"[\x{0}-\x{8}\x{B}\x{C}\x{E}-\x{1F}\x{7F}-\x{9F}]"
#: U+FFFD (a character already lost upstream), a byte-order mark inside a value (files
#: pasted together), and the 66 noncharacters, which no text may exchange.
_INVALID = ("[\\x{FFFD}\\x{FEFF}\\x{FDD0}-\\x{FDEF}"
            + "".join(f"\\x{{{plane:X}FFFE}}\\x{{{plane:X}FFFF}}" for plane in range(17))
            + "]")
#: UTF-8 read as Windows-1252: a lead byte shown as one of Â-ß (two bytes) or à-ï (three
#: bytes) followed by continuation bytes shown as U+0080-U+00BF or the cp1252 symbols of
#: 0x80-0x9F (the euro sign, curly quotes, dashes, Œ, Š...). "Ã©" is "é", "Ã‰" is "É",
#: and "â€™" is a right single quotation mark.
_CONTINUATION = ("[\\x{80}-\\x{BF}\\x{152}\\x{153}\\x{160}\\x{161}\\x{178}\\x{17D}\\x{17E}"
                 "\\x{192}\\x{2C6}\\x{2DC}\\x{2013}\\x{2014}\\x{2018}-\\x{201A}"
                 "\\x{201C}-\\x{201E}\\x{2020}-\\x{2022}\\x{2026}\\x{2030}\\x{2039}\\x{203A}"
                 "\\x{20AC}\\x{2122}]")
_MOJIBAKE = f"[\\x{{C2}}-\\x{{DF}}]{_CONTINUATION}|[\\x{{E0}}-\\x{{EF}}]{_CONTINUATION}{{2}}"


def text_verdicts(text: pa.Array, column: Column, contract: Contract) -> list[Verdict]:
    """Control characters, lost characters and mojibake in a string column.

    One combined pattern, run once per distinct value, finds the (usually zero) suspicious
    rows; each rule is then told apart on them only.
    """
    free_text = column.policy == "redact"
    control = _CONTROL_IN_FREE_TEXT if free_text else _CONTROL
    encoded = pc.dictionary_encode(text)
    pattern = f"{control}|{_INVALID}|{_MOJIBAKE}"
    suspect = pc.fill_null(pc.take(pc.match_substring_regex(encoded.dictionary, pattern),
                                   encoded.indices), False)
    if not pc.any(suspect).as_py():
        return []

    def rows(pattern: str) -> pa.Array:
        found = pc.fill_null(pc.match_substring_regex(text, pattern), False)
        return pc.and_(suspect, found)

    allowed = " (tab and line breaks are allowed in free text)" if free_text else ""
    return [
        Verdict("text.control", f"holds a control character (U+0000-U+001F or "
                f"U+007F-U+009F){allowed}; remove it at the source", "error", rows(control)),
        Verdict("text.invalid_unicode", "holds U+FFFD (a character lost in an earlier "
                "conversion), a byte-order mark or a Unicode noncharacter; export the file "
                "again from the original", "error", rows(_INVALID)),
        Verdict("text.mojibake", "looks twice-encoded (UTF-8 read as Windows-1252, such as "
                "'Ã©' for 'é'); export it once as UTF-8, or declare mojibake = \"warning\" for "
                f"column {column.name!r} in {contract.path}", column.mojibake, rows(_MOJIBAKE)),
    ]
