"""Synthetic DSN-style absence files: French identities with consistent, valid NIRs.

Every person's NIR agrees with their sex, birth year, month and birth departement and
carries a valid check key; people live near their site (so departements cluster as in a
real company), take several absences each, more in winter. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from lakeguard.identifiers.nir import check_key

HEADER = ["nir", "nom", "prenom", "date_naissance", "code_postal", "siret_employeur", "site",
          "emploi", "debut_absence", "fin_absence", "motif_cim", "heures", "commentaire"]

#: (site, departement, postcode prefixes people live under): Corsica exercises 2A postcodes.
SITES = [
    ("Lyon Part-Dieu", "69", ["690", "693", "694", "691"]),
    ("Nanterre Campus", "92", ["920", "921", "750", "930"]),
    ("Marseille Euromed", "13", ["130", "131", "830"]),
    ("Lille Euralille", "59", ["590", "591", "620"]),
    ("Ajaccio Aeroport", "2A", ["200", "201"]),
]
SIRET = "55208131766522"
#: ICD-10 chapters and their weight in winter and in summer.
REASONS = [("X", 5, 1), ("XIII", 3, 3), ("V", 2, 2), ("XIX", 2, 3), ("I", 3, 1), ("XV", 1, 1),
           ("XI", 1, 1)]
COMMENTS = ["", "", "", "arret initial", "prolongation", "certificat recu",
            "rappeler au {phone}", "justificatif envoye par mail a {email}", "temps partiel"]
BIRTH_DEPARTEMENTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B", "971",
                                                                      "974", "99"]


@dataclass(frozen=True)
class Person:
    """One employee (synthetic)."""

    nir: str
    last_name: str
    first_name: str
    birth: date
    postcode: str
    site: str
    job: str


def _nir(rng: random.Random, sex: int, birth: date, departement: str) -> str:
    if len(departement) == 3:  # overseas: 97x + 2-digit commune
        place = departement + f"{rng.randint(1, 99):02d}"
    else:
        place = departement + f"{rng.randint(1, 999):03d}"
    body = f"{sex}{birth.year % 100:02d}{birth.month:02d}{place}{rng.randint(1, 999):03d}"
    return body + check_key(body)


def _person(rng: random.Random, fake: Faker) -> Person:
    sex = rng.choice((1, 2))
    birth = date(1958, 1, 1) + timedelta(days=rng.randint(0, 46 * 365))
    site, _, prefixes = rng.choices(SITES, weights=(5, 6, 4, 4, 1))[0]
    prefix = rng.choice(prefixes)
    postcode = prefix + f"{rng.randint(0, 9) * 10:02d}"
    first = fake.first_name_male() if sex == 1 else fake.first_name_female()
    nir = _nir(rng, sex, birth, rng.choice(BIRTH_DEPARTEMENTS))
    if rng.random() < 0.5:  # producers often type NIRs with spaces
        nir = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    return Person(nir, fake.last_name(), first, birth, postcode, site, fake.job())


def _start(rng: random.Random, first: date, days: int) -> date:
    while True:  # winter months are twice as likely: flu season
        day = first + timedelta(days=rng.randint(0, days - 1))
        if day.month in (12, 1, 2) or rng.random() < 0.5:
            return day


def _typo(rng: random.Random, nir: str) -> str:
    """A NIR with its check key mistyped, as happens in real declarations."""
    return nir[:-2] + f"{(int(nir[-2:]) + rng.randint(1, 50)) % 97 or 1:02d}"


def generate(rows: int, seed: int, first: date = date(2022, 1, 1), days: int = 3 * 365,
             invalid_nir_rate: float = 0.001) -> str:
    """Return a CSV (``;``-separated, as DSN extracts are) with ``rows`` absences.

    About ``invalid_nir_rate`` of the rows carry a mistyped NIR, which the pipeline must
    reject with a reason (the contract tolerates 1%).
    """
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    people = [_person(rng, fake) for _ in range(max(rows // 3, 1))]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    for _ in range(rows):
        person = rng.choice(people)
        start = _start(rng, first, days)
        length = min(int(rng.expovariate(1 / 6)) + 1, 90)
        winter = start.month in (12, 1, 2)
        reason = rng.choices([r[0] for r in REASONS],
                             weights=[r[1] if winter else r[2] for r in REASONS])[0]
        comment = rng.choice(COMMENTS).format(phone=fake.phone_number(), email=fake.email())
        nir = _typo(rng, person.nir) if rng.random() < invalid_nir_rate else person.nir
        writer.writerow([nir, person.last_name, person.first_name, person.birth.isoformat(),
                         person.postcode, SIRET, person.site, person.job, start.isoformat(),
                         (start + timedelta(days=length - 1)).isoformat(), reason,
                         f"{min(length, 22) * 7:.1f}", comment])
    return out.getvalue()


def write(path: Path, rows: int, seed: int, invalid_nir_rate: float = 0.001) -> Path:
    """Write a generated file to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(rows, seed, invalid_nir_rate=invalid_nir_rate), encoding="utf-8")
    return path
