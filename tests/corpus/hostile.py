"""The hostile-input corpus: every class of bad input of issue 15, for every bundled dataset.

Each :class:`Hostile` file is a good base file (:mod:`tests.corpus.base`) spoiled in one
way, with what the pipeline must do with it: publish it (possibly without the spoiled row,
or with a warning), or quarantine it with a reason that names the rule. Where a class has
no column to spoil in a dataset (no date in the customers file), it is left out.

Write the corpus to disk to run it by hand::

    .venv/bin/python -m tests.corpus.hostile --out /tmp/hostile
    .venv/bin/lakeguard local run --dataset absences /tmp/hostile/absences --export out/
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lakeguard.contracts import load_contract
from tests.corpus.base import BASES, Base

PUBLISHED, QUARANTINED = "published", "quarantined"
#: The row every value class spoils (data row 6: the header is not counted).
ROW = 5


@dataclass(frozen=True)
class Hostile:
    """One spoiled file and what must become of it.

    ``words`` must appear in the quarantine reason (or in the reject or warning reason of a
    published file); ``rule`` is the row-level rule that fires, if the class is about
    values; ``rejected`` and ``warned`` count the rows a published file loses or keeps with
    a warning. ``name`` may hold a folder (``../x.csv``): the key is
    ``<prefix>hostile/<name>``.
    """

    dataset: str
    case: str
    name: str
    data: bytes = b""
    outcome: str = PUBLISHED
    words: str | None = None
    rule: str | None = None
    rejected: int = 0
    warned: int = 0

    @property
    def key(self) -> str:
        """The object key the file is dropped under."""
        return f"{load_contract(self.dataset).raw.prefix}hostile/{self.name}"


def _text(base: Base, rows: list[list[str]] | None = None, header: bool = True,
          quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=base.delimiter, lineterminator="\n", quoting=quoting)
    if header:
        writer.writerow(base.header)
    writer.writerows(base.rows if rows is None else rows)
    return out.getvalue()


def _spoil(base: Base, column: str, value: Callable[[str], str]) -> bytes:
    """The base file with one cell of data row ``ROW + 1`` rewritten."""
    rows = [list(r) for r in base.rows]
    index = base.column(column)
    rows[ROW][index] = value(rows[ROW][index])
    return _text(base, rows).encode("utf-8")


def _value_case(base: Base, case: str, column: str, value: Callable[[str], str], rule: str,
                severity: str = "error") -> Hostile:
    """A file with one wrong value: how the contract's tolerance decides its fate."""
    name = f"{case}.csv"
    data = _spoil(base.for_case(case), column, value)
    if severity == "warning":
        return Hostile(base.dataset, case, name, data, PUBLISHED, rule, rule, warned=1)
    tolerated = load_contract(base.dataset).raw.max_reject_ratio * len(base.rows) >= 1
    if tolerated:
        return Hostile(base.dataset, case, name, data, PUBLISHED, rule, rule, rejected=1)
    return Hostile(base.dataset, case, name, data, QUARANTINED, f"rule {rule}", rule)


def _middle(inserted: str) -> Callable[[str], str]:
    return lambda v: v[:1] + inserted + v[1:]


def _mojibake(text: str) -> Callable[[str], str]:
    return lambda _: text.encode("utf-8").decode("cp1252")


#: Where each dataset can be spoiled: (date column and its wrong values by case), a
#: string column, a free-text column, numeric bounds (error, warning) and overflows.
DATES = {
    "matches": ("Date", {"impossible_date": "Thu Feb 30 2006", "weekday_mismatch":
                         "Mon Aug 6 2006", "year_0019": "Fri May 24 0019",
                         "year_9999": "Fri Dec 31 9999", "year_2099": "Sat Aug 15 2099",
                         "two_digit_year": "Sat May 24 97"}),
    "absences": ("debut_absence", {"impossible_date": "2023-02-30", "year_0019": "0019-05-24",
                                   "year_9999": "9999-12-31", "year_2099": "2099-05-01",
                                   "two_digit_year": "97-05-24"}),
}
DATE_RULES = {"impossible_date": "date.impossible", "weekday_mismatch": "date.weekday",
              "year_0019": "date.too_early", "year_9999": "date.future",
              "year_2099": "date.future", "two_digit_year": "date.too_early"}
TEXT = {"matches": ("Team 1", "Saint-Étienne"), "absences": ("site", "Ajaccio Aéroport"),
        "absenteeism": ("Reason for absence", "Maladie déclarée"),
        "customers": ("Contract", "Échéance mensuelle")}
FREE_TEXT = {"absences": "commentaire"}
NUMBERS = {  # (column, value, rule, severity)
    "absences": [("number_out_of_bounds", "heures", "-3.5", "number.too_small", "error"),
                 ("number_warning", "heures", "1500", "number.too_large", "warning"),
                 ("birth_year_warning", "date_naissance", "1935-03-01", "date.too_early",
                  "warning"),
                 ("number_overflow", "heures", "1e999", "number.not_finite", "error")],
    "absenteeism": [("number_out_of_bounds", "Month of absence", "13", "number.too_large",
                     "error"),
                    ("number_warning", "Month of absence", "0", "number.too_small", "warning"),
                    ("number_overflow", "Age", "9" * 25, "type", "error")],
    "customers": [("number_out_of_bounds", "tenure", "500", "number.too_large", "error"),
                  ("number_overflow", "SeniorCitizen", "9" * 25, "type", "error"),
                  ("float_overflow", "MonthlyCharges", "1e999", "number.not_finite", "error")],
    "matches": [("number_overflow", "FT", "9" * 20 + "-0", "type", "error")],
}


def _values(base: Base) -> list[Hostile]:
    dataset = base.dataset
    cases = []
    if dataset in DATES:
        column, values = DATES[dataset]
        for case, value in values.items():
            cases.append(_value_case(base, case, column, lambda _, v=value: v,
                                     DATE_RULES[case]))
    text_column, accented = TEXT[dataset]
    cases += [
        _value_case(base, "nul_byte", text_column, _middle("\x00"), "text.control"),
        _value_case(base, "c1_control", text_column, _middle("\x85"), "text.control"),
        _value_case(base, "replacement_character", text_column, _middle("\ufffd"),
                    "text.invalid_unicode"),
        _value_case(base, "mojibake", text_column, _mojibake(accented), "text.mojibake"),
        _value_case(base, "line_break_in_value", text_column, _middle("\n"), "text.control"),
    ]
    if dataset in FREE_TEXT:
        column = FREE_TEXT[dataset]
        cases += [
            _value_case(base, "mojibake_in_free_text", column, _mojibake("arrêt prolongé"),
                        "text.mojibake", "warning"),
            Hostile(dataset, "line_break_in_free_text", "line_break_in_free_text.csv",
                    _spoil(base, column, lambda _: "arret initial\nrappel prevu")),
        ]
    for case, column, value, rule, severity in NUMBERS[dataset]:
        cases.append(_value_case(base, case, column, lambda _, v=value: v, rule, severity))
    return cases


def _structure(base: Base) -> list[Hostile]:
    """Valid CSV written other ways, and files that are not the contract's CSV."""
    dataset = base.dataset

    def text(case: str) -> str:
        return _text(base.for_case(case))

    rows = [list(r) for r in base.for_case("cp1252_file").rows]
    accented_column, accented = TEXT[dataset]
    rows[ROW][base.column(accented_column)] = accented
    unquoted = text("unquoted_delimiter").split("\n")  # no base value holds a line break
    unquoted[ROW + 1] += f"{base.delimiter}an unquoted {base.delimiter} in a value"
    return [
        Hostile(dataset, "byte_order_mark", "byte_order_mark.csv",
                codecs.BOM_UTF8 + text("byte_order_mark").encode("utf-8")),
        Hostile(dataset, "quoted_header", "quoted_header.csv",
                _text(base.for_case("quoted_header"), quoting=csv.QUOTE_ALL).encode("utf-8")),
        Hostile(dataset, "cr_line_endings", "cr_line_endings.csv",
                text("cr_line_endings").replace("\n", "\r").encode("utf-8")),
        Hostile(dataset, "crlf_line_endings", "crlf_line_endings.csv",
                text("crlf_line_endings").replace("\n", "\r\n").encode("utf-8")),
        Hostile(dataset, "cp1252_file", "cp1252_file.csv",
                _text(base, rows).encode("cp1252", errors="replace"), QUARANTINED,
                "looks like cp1252"),
        Hostile(dataset, "utf16_file", "utf16_file.csv", text("utf16_file").encode("utf-16"),
                QUARANTINED, "UTF-16"),
        Hostile(dataset, "unquoted_delimiter", "unquoted_delimiter.csv",
                "\n".join(unquoted).encode("utf-8"), QUARANTINED,
                f"data row(s) {ROW + 1}"),
        Hostile(dataset, "missing_header", "missing_header.csv",
                _text(base.for_case("missing_header"), header=False).encode("utf-8"),
                QUARANTINED, "header missing?"),
    ]


#: Key names that must be processed as written, and one that must be refused.
ORDINARY_KEYS = {"key_plus": "a+b.csv", "key_percent": "100%25 done.csv",
                 "key_space": "season 2006 07.csv", "key_non_ascii": "saison été.csv",
                 "key_brackets": "season[1].csv"}


def _keys(base: Base) -> list[Hostile]:
    def data(case: str) -> bytes:
        return _text(base.for_case(case)).encode("utf-8")

    names = ORDINARY_KEYS if base.dataset == "matches" else \
        {"key_specials": "a+b 100%25 été[1].csv"}
    return [*(Hostile(base.dataset, case, name, data(case)) for case, name in names.items()),
            Hostile(base.dataset, "key_dot_dot", "../escape.csv", data("key_dot_dot"),
                    QUARANTINED, "'..' segment")]


def corpus(dataset: str) -> list[Hostile]:
    """Every hostile file of one dataset."""
    base = BASES[dataset]()
    return [*_values(base), *_structure(base), *_keys(base)]


def everything() -> list[Hostile]:
    """The corpus of every bundled dataset."""
    return [h for dataset in BASES for h in corpus(dataset)]


def write(folder: Path) -> Path:
    """Write the corpus as ``<folder>/<dataset>/<case>.csv`` and ``manifest.json``."""
    manifest = []
    for hostile in everything():
        path = folder / hostile.dataset / f"{hostile.case}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hostile.data)
        manifest.append({**asdict(replace(hostile, data=b"")), "data": None, "key": hostile.key,
                         "file": str(path.relative_to(folder))})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                          encoding="utf-8")
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write the corpus to")
    print(write(Path(parser.parse_args().out)))
