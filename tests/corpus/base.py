"""Good files of every bundled dataset, as rows of text, for the hostile corpus to spoil.

Matches come from a real season (CC0); absences from the project's generator; the UCI
absenteeism and Telco customers files are not in the repository, so rows in their exact
layout are made up here, deterministically, plausible enough to be published (each
quasi-identifier class holds several people).
"""

from __future__ import annotations

import csv
import io
import random
import string
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from lakeguard.contracts import load_contract
from lakeguard.samples.absences import generate

SEASON = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1" / "2006-07_fr.1.csv"


@dataclass(frozen=True)
class Base:
    """A good file: header and rows of text, and how they are written."""

    dataset: str
    header: list[str]
    rows: list[list[str]]
    delimiter: str

    def column(self, name: str) -> int:
        """Position of a column in the header."""
        return self.header.index(name)

    def for_case(self, case: str) -> Base:
        """The file with facts of its own: the names in its rows tagged with the case.

        In a dataset with a natural key (matches: date and home team) files that share rows
        repeat each other: all but the first would be refused as repeats, not for what they
        test. Names (``normalise = "name"`` columns) get the case as a suffix.
        """
        contract = load_contract(self.dataset)
        if contract.natural_key is None:
            return self
        tag = "".join(part.title() for part in case.split("_"))
        names = {self.column(c.source) for c in contract.columns if c.normalise == "name"}
        rows = [[f"{v} {tag}" if i in names and v else v for i, v in enumerate(row)]
                for row in self.rows]
        return replace(self, rows=rows)


def _read(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return header, rows


def matches() -> Base:
    """The 2006-07 Ligue 1 season: 380 matches."""
    header, rows = _read(SEASON.read_text(encoding="utf-8"), ",")
    return Base("matches", header, rows, ",")


def absences() -> Base:
    """1,500 generated absences with valid NIRs (so only planted rows are rejected), in one
    month: dense enough that classes reach k people once Publish counts them."""
    header, rows = _read(generate(1500, seed=15, invalid_nir_rate=0.0,
                                  first=date(2025, 3, 1), days=31), ";")
    return Base("absences", header, rows, ";")


ABSENTEEISM_HEADER = [
    "ID", "Reason for absence", "Month of absence", "Day of the week", "Seasons",
    "Transportation expense", "Distance from Residence to Work", "Service time", "Age",
    "Work load Average/day ", "Hit target", "Disciplinary failure", "Education", "Son",
    "Social drinker", "Social smoker", "Pet", "Weight", "Height", "Body mass index",
    "Absenteeism time in hours"]


def absenteeism(rows: int = 150) -> Base:
    """Absences of 36 employees in the UCI layout; each employee keeps one age."""
    rng = random.Random(445)
    ages = {e: (28, 33, 38, 41, 50)[e % 5] for e in range(1, 37)}
    out = []
    for _ in range(rows):
        employee = rng.randint(1, 36)
        month = rng.randint(1, 12)
        out.append([str(employee), str(rng.choice((23, 28, 27, 13, 19, 22, 26))), str(month),
                    str(rng.randint(2, 6)), str((month % 12) // 3 + 1),
                    str(rng.randint(118, 388)), str(rng.randint(5, 50)),
                    str(rng.randint(1, 29)), str(ages[employee]),
                    f"{rng.uniform(205, 380):.3f}", str(rng.randint(81, 100)), "0",
                    "1" if employee % 4 else "3", str(rng.randint(0, 4)),
                    str(rng.randint(0, 1)), "0", str(rng.randint(0, 2)),
                    str(rng.randint(56, 108)), str(rng.randint(163, 196)),
                    str(rng.randint(19, 38)), str(rng.choice((0, 2, 4, 8, 8, 16)))])
    return Base("absenteeism", ABSENTEEISM_HEADER, out, ",")


CUSTOMERS_HEADER = [
    "customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure",
    "PhoneService", "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup",
    "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies", "Contract",
    "PaperlessBilling", "PaymentMethod", "MonthlyCharges", "TotalCharges", "Churn"]


def customers(rows: int = 240) -> Base:
    """Telco customers in the IBM layout, with unique ids (the contract's quality rule)."""
    rng = random.Random(7043)
    yes_no = ("Yes", "No")
    out, ids = [], set()
    while len(out) < rows:
        customer = f"{rng.randint(1000, 9999)}-{''.join(rng.choices(string.ascii_uppercase, k=5))}"
        if customer in ids:
            continue
        ids.add(customer)
        tenure = rng.choice((0, 5, 10, 20, 30, 50, 70))
        charges = round(rng.uniform(18.25, 118.75), 2)
        out.append([customer, rng.choice(("Male", "Female")), "1" if rng.random() < 0.4 else "0",
                    rng.choice(yes_no), rng.choice(yes_no), str(tenure), "Yes",
                    rng.choice(yes_no), rng.choice(("DSL", "Fiber optic", "No")),
                    *(rng.choice(yes_no) for _ in range(6)),
                    rng.choice(("Month-to-month", "One year", "Two year")), rng.choice(yes_no),
                    rng.choice(("Electronic check", "Mailed check",
                                "Bank transfer (automatic)", "Credit card (automatic)")),
                    f"{charges:.2f}", f"{tenure * charges:.2f}" if tenure else " ",
                    rng.choice(yes_no)])
    return Base("customers", CUSTOMERS_HEADER, out, ",")


BASES = {"matches": matches, "absences": absences, "absenteeism": absenteeism,
         "customers": customers}
