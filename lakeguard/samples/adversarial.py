"""An adversarial absences file: identifiers planted as attackers and hurried clerks write them.

Each planted identifier is recorded with what must never be found downstream.

:func:`plant` takes a generated file (:mod:`lakeguard.samples.absences`) and rewrites
the comment (and a few kept codes) of chosen rows with one case of each class below,
using the identities of the file itself, so the raw values the lake knows are the very
ones hidden in the text. Every :class:`Case` carries *needles*: the identifier in a
canonical form (digits only for numbers, folded words for names, local part and domain
for e-mails) that an independent scanner looks for in everything the run produced.

Classes (``CLASSES``) cover the issue's findings and more: NIRs with any separator, glued
to a word, without key, with invisible characters or full-width digits; names without or
with decomposed accents, in look-alike letters, with soft hyphens, in part, two letters
long, in capitals, after an honorific; spelled-out e-mails; phones in international,
``+33 (0)``, slash and dotted forms; a person's own birth date in French forms; full
postcodes; free text in kept columns; and benign comments that must not block a file.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from lakeguard.samples.absences import HEADER

COMMENT = HEADER.index("commentaire")
_ZWSP, _SHY = "\u200b", "\u00ad"
_FULLWIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
_CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і",
             "A": "А", "E": "Е", "O": "О", "P": "Р", "C": "С", "H": "Н", "M": "М", "T": "Т"}
_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"]


@dataclass(frozen=True)
class Case:
    """One planted identifier: its row (1-based data row), class, and what must not appear.

    ``expect`` is ``redacted`` (published without the identifier), ``rejected`` (the row
    is refused by its kept column's shape) or ``benign`` (nothing to find; the file must
    not be refused for it).
    """

    row: int
    cls: str
    column: str
    needles: tuple[str, ...]
    expect: str = "redacted"


@dataclass(frozen=True)
class _Person:
    nir: str
    last: str
    first: str
    birth: date
    postcode: str


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit() or c in "AB")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _name_needles(*names: str) -> tuple[str, ...]:
    words = [w for n in names for w in _fold(n).replace("-", " ").replace("'", " ").split()]
    particles = {"de", "la", "le", "du", "des", "da", "di", "del", "van", "von", "der", "den",
                 "dos", "das", "do", "el", "al", "ben", "bin", "y", "d", "l"}
    return tuple(w for w in words if len(w) >= 2 and w not in particles)


def _spaced_nir(nir: str, sep: str) -> str:
    parts = [nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]]
    return sep.join(p for p in parts if p)


def _phone(rng: random.Random) -> str:
    return f"6{rng.randint(10_000_000, 99_999_999)}"


#: class name -> (column, builder(person, rng) -> (text, needles)); builders use the person
#: whose row they are planted in unless the class is about other people.
Builder = Callable[[_Person, random.Random], tuple[str, tuple[str, ...]]]


def _nir_case(make: Callable[[str], str], body_only: bool = False) -> Builder:
    def build(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        nir = _digits(p.nir.upper())
        shown = nir[:13] if body_only else nir
        return f"secu {make(shown)} a verifier", (nir[:13],)
    return build


def _name_case(make: Callable[[_Person], str]) -> Builder:
    def build(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        return f"remplace par {make(p)} cette semaine", _name_needles(p.last)
    return build


def _confusable(word: str) -> str:
    return "".join(_CYRILLIC.get(c, c) for c in word)


def _phone_case(make: Callable[[str], str]) -> Builder:
    def build(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        number = _phone(rng)
        return f"joignable au {make(number)} apres 18h", (number,)
    return build


def _birth_case(make: Callable[[date], str]) -> Builder:
    def build(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        b = p.birth
        forms = (f"{b.day:02d}{b.month:02d}{b.year}", f"{b.day:02d}{b.month:02d}{b.year % 100:02d}",
                 f"{b.year}{b.month:02d}{b.day:02d}")
        return f"salarie ne le {make(b)}, dossier complet", forms
    return build


def _email_case(template: str) -> Builder:
    def build(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        local = _fold(p.first).replace(" ", "").replace("-", "") + "." + \
            _fold(p.last).replace(" ", "").replace("-", "")
        return template.format(local=local, domain="exemple"), (local,)
    return build


CLASSES: dict[str, tuple[str, Builder]] = {
    "nir_slashes": ("commentaire", _nir_case(lambda n: _spaced_nir(n, "/"))),
    "nir_dashes": ("commentaire", _nir_case(lambda n: _spaced_nir(n, "-"))),
    "nir_underscores": ("commentaire", _nir_case(lambda n: _spaced_nir(n, "_"))),
    "nir_mixed_separators": ("commentaire", _nir_case(
        lambda n: f"{n[0]}:{n[1:3]}|{n[3:5]} / {n[5:7]}.{n[7:10]}_{n[10:13]} ,{n[13:]}")),
    "nir_glued_to_word": ("commentaire", _nir_case(lambda n: "nir" + n)),
    "nir_without_key": ("commentaire", _nir_case(lambda n: _spaced_nir(n, " "), body_only=True)),
    "nir_invisible_characters": ("commentaire", _nir_case(lambda n: _ZWSP.join(n))),
    "nir_fullwidth_digits": ("commentaire", _nir_case(
        lambda n: "".join(_FULLWIDTH.get(c, c) for c in n))),
    "name_accents_stripped": ("commentaire", _name_case(lambda p: _fold(p.last).upper())),
    "name_accents_decomposed": ("commentaire", _name_case(
        lambda p: unicodedata.normalize("NFD", p.last))),
    "name_look_alike_letters": ("commentaire", _name_case(lambda p: _confusable(p.last))),
    "name_invisible_characters": ("commentaire", _name_case(
        lambda p: _SHY.join(p.last[:3]) + _ZWSP + p.last[3:])),
    "name_lower_case": ("commentaire", _name_case(lambda p: p.last.lower())),
    "name_first_and_last": ("commentaire", _name_case(lambda p: f"{p.first} {p.last.upper()}")),
    "email_at_brackets": ("commentaire", _email_case("mail {local} [at] {domain} [dot] fr")),
    "email_at_words": ("commentaire", _email_case("ecrire a {local} at {domain} dot fr")),
    "email_arobase": ("commentaire", _email_case("{local} (arobase) {domain} (point) com")),
    "email_plain": ("commentaire", _email_case("copie a {local}@{domain}.fr")),
    "phone_plus33_zero": ("commentaire", _phone_case(
        lambda n: f"+33 (0){n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:]}")),
    "phone_slashes": ("commentaire", _phone_case(
        lambda n: f"0{n[0]}/{n[1:3]}/{n[3:5]}/{n[5:7]}/{n[7:]}")),
    "phone_dots": ("commentaire", _phone_case(lambda n: f"0{n[0]}.{n[1:3]}.{n[3:5]}.{n[5:7]}.{n[7:]}")),
    "phone_0033": ("commentaire", _phone_case(lambda n: f"0033 {n[0]} {n[1:5]} {n[5:]}")),
    "phone_plus33_glued": ("commentaire", _phone_case(lambda n: f"tel+33{n}")),
    "birth_date_slashes": ("commentaire", _birth_case(lambda b: f"{b.day:02d}/{b.month:02d}/{b.year}")),
    "birth_date_words": ("commentaire", _birth_case(
        lambda b: f"{'1er' if b.day == 1 else b.day} {_MONTHS[b.month - 1]} {b.year}")),
    "birth_date_dots_short_year": ("commentaire", _birth_case(
        lambda b: f"{b.day:02d}.{b.month:02d}.{b.year % 100:02d}")),
    "birth_date_iso": ("commentaire", _birth_case(lambda b: b.isoformat())),
    "birth_date_compact": ("commentaire", _birth_case(lambda b: f"{b.day:02d}{b.month:02d}{b.year}")),
}


def _own_postcode(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    return f"demenage au {p.postcode} le mois prochain", (p.postcode,)


def _honorific(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    return "certificat du Dr Zorglubien, a rappeler", ("zorglubien",)


def _partial_surname(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    return "vu avec quillebeuf ce matin", ("quillebeuf",)


def _short_name(p: _Person, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    return "remplace par Ly jusqu'a lundi", ("ly",)


CLASSES.update({
    "postcode_full": ("commentaire", _own_postcode),
    "name_after_honorific_not_in_file": ("commentaire", _honorific),
    "name_one_word_of_compound_surname": ("commentaire", _partial_surname),
    "name_two_letters": ("commentaire", _short_name),
})
#: Free text in kept columns: each must reject its row, not reach clean.
KEPT: dict[str, tuple[str, Callable[[_Person], str]]] = {
    "kept_reason_with_doctor": ("motif_cim", lambda p: "X Dr Zorglubien"),
    "kept_siret_with_name": ("siret_employeur", lambda p: p.last),
    "kept_site_with_name": ("site", lambda p: f"Lyon Part-Dieu {p.last}"),
}
#: Benign comments that quarantined whole files before: they must be published.
BENIGN = ("voyage a Lyon ce week-end", "rdv avocat pour la succession", "rendez-vous chez le notaire",
          "retour prevu apres les vacances a Marseille", "formation securite 3 jours")


def plant(text: str, seed: int = 0) -> tuple[str, list[Case]]:
    """Return ``text`` (a generated absences CSV) with every class planted, and the cases.

    Each class is planted in a different row. Two surnames are rewritten so the
    partial-name and two-letter-name classes refer to people of the file: one person
    becomes ``Quillebeuf-Marchais``, another ``Ly``.
    """
    rng = random.Random(seed)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, data = rows[0], rows[1:]
    assert header == HEADER, "plant() rewrites files of lakeguard.samples.absences"
    order = list(range(len(data)))
    rng.shuffle(order)
    nom = HEADER.index("nom")
    _rename(data, data[order[0]][HEADER.index("nir")], "Quillebeuf-Marchais", nom)
    _rename(data, data[order[1]][HEADER.index("nir")], "Ly", nom)
    cases: list[Case] = []
    picks = iter(order[2:])
    for cls, (column, build) in CLASSES.items():
        index = next(picks)
        person = _person(data[index])
        planted, needles = build(person, rng)
        data[index][COMMENT] = planted
        cases.append(Case(index + 1, cls, column, needles))
    for cls, (column, make) in KEPT.items():
        index = next(picks)
        at = HEADER.index(column)
        data[index][at] = make(_person(data[index]))
        cases.append(Case(index + 1, cls, column, (), "rejected"))
    for number, comment in enumerate(BENIGN):
        index = next(picks)
        data[index][COMMENT] = comment
        cases.append(Case(index + 1, f"benign_{number}", "commentaire", (), "benign"))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows([header, *data])
    return out.getvalue(), cases


def _rename(data: list[list[str]], nir: str, surname: str, column: int) -> None:
    for row in data:
        if row[HEADER.index("nir")] == nir:
            row[column] = surname


def _person(row: list[str]) -> _Person:
    return _Person(row[HEADER.index("nir")], row[HEADER.index("nom")], row[HEADER.index("prenom")],
                   date.fromisoformat(row[HEADER.index("date_naissance")]),
                   row[HEADER.index("code_postal")])
