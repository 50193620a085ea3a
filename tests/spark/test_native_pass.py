"""The native pass types exactly as the Arrow pass: every clean row, finding and identifier.

:mod:`lakeguard.glue.native_pass` types in Spark SQL only the rows it shows to be plain and
hands the others to the Arrow pass; both are run here over the same raw frame, a generated
month of absences whose cells are overwritten, at random, with values each engine could
read differently: rolled-over and loosely written dates, odd whitespace, null markers,
Windows-1252 and mojibake characters, formulas, numbers in other notations, NIRs with
other separators or a wrong key, postcodes of no departement, SIRETs failing Luhn,
comments naming the row's own job.
"""

import random
from datetime import date

import pytest

from lakeguard.contracts import load_contract
from lakeguard.glue.anonymise_job import read_raw
from lakeguard.glue.arrow_pass import (
    ERROR,
    ROW,
    TAG,
    VALUES,
    WARNING,
    arrow_pass,
    clean_rows,
    findings,
    sensitive_values,
)
from lakeguard.glue.native_pass import native_pass, supported
from lakeguard.glue.preflight import preflight
from lakeguard.samples.absences import HEADER, generate
from lakeguard.samples.adversarial import plant

pytestmark = pytest.mark.spark
TODAY = date(2025, 6, 30)

#: Values planted per raw column, beside each column's own generated values.
ODD = {
    "nir": ["1 84 12 76 451 089 46", "184127645108946", "1.84.12.76.451.089.46",
            "1-84-12-76-451-089-46", " 184127645108946", "184127645108946 ", "1841276451089 46",
            "184127645108947", "2 84 12 2a 451 089 46", "2 84 12 2A 451 089 13",
            "184127645108946\u00a0", "1  84 12 76 451 089 46", "", "NA", "18412764510894",
            "984127645108946", "2841297945108946", "2 84 12 97 745 108 48"],
    "nom": ["Dupont ", " Dupont", "Dup\u00a0ont", "DUPONT", "Ã©ric", "Œuvre", "Lefèvre",
            "L'Hôte", "=cmd|' /C calc'!A0", "-Martin", "@home", "O\u2019Brien", "Müller\tX",
            "Zoë", "Ŀ", "", "\ufffd", "Da Silva  Costa"],
    "prenom": ["Éric", "Jean-Pierre", "Ægir", "Ñuñez", "Chloé\u0301", "Ÿves", "Ž", "x"],
    "date_naissance": ["1984-12-07", "2023-02-30", "2023-02-29", "2024-02-29", "1984-2-7",
                       "84-12-07", "07/12/1984", " 1984-12-07", "1984-12-07 ", "1899-12-31",
                       "1939-12-31", "1940-01-01", "2030-01-01", "0001-01-01", "1984-13-01",
                       "1984-12-00", "", "1984-12-07T00:00", "１９８４-12-07"],
    "code_postal": ["75001", "20190", "20200", "97100", "97800", "00100", "2A004", "7500",
                    " 75001", "750011", "9711", "97600", "20000"],
    "siret_employeur": ["35600000000048", "35600000000049", "55208131766522",
                        "55208131766523", "5520813176652", " 55208131766522", "ABCDEFGHIJKLMN"],
    "site": ["Lyon Part-Dieu", "Lyon  Part-Dieu", "lyon part-dieu", "Lyon Part-Dieu ", "Paris"],
    "emploi": ["avocat", "médecin du travail", "", "=SUM(A1)", "infirmière"],
    "debut_absence": ["2025-01-31", "2025-02-29", "2025-02-28", "2024-12-31", "2026-07-01",
                      "2026-06-30", "1999-12-31", "2025-1-5", "2025-01-05 "],
    "fin_absence": ["2025-02-01", "2025-01-01", "2028-06-30", "2028-07-01", "2025-04-31",
                    "2025-01-31"],
    "motif_cim": ["X", "XXIII", "x", " X", "IV ", ""],
    "heures": ["42.0", "42", "42.", ".5", "1e3", "42,5", "-3", "0", "1000", "1000.5",
               "153.99", "154", "28", "27.999999999", "0.1", "+7", "", "nan", "inf",
               "0000000042.5"],
    "commentaire": ["", "rdv avocat", "vu par le medecin du travail", "appeler Dupont",
                    "tel 06 12 34 56 78", "ligne1\nligne2", "tab\there", "  espaces  ",
                    "Ã©té", "naïf", "=HYPERLINK(\"x\")", "arret initial", "infirmière de nuit",
                    "né le 07/12/1984", "code 75001"],
}


def _scrambled(data: str, seed: int) -> str:
    """``data`` with one cell in five overwritten by a planted value of its column."""
    import csv
    import io

    rng = random.Random(seed)
    reader = csv.reader(io.StringIO(data), delimiter=";")
    header = next(reader)
    assert header == HEADER
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    for row in reader:
        for index, name in enumerate(header):
            if rng.random() < 0.06:
                row[index] = rng.choice(ODD[name])
        writer.writerow(row)
    return out.getvalue()


def _both(spark, tmp_path, data):
    path = tmp_path / "in.csv"
    path.write_text(data, encoding="utf-8")
    contract = load_contract("absences")
    facts = preflight(str(path), contract)
    raw = read_raw(spark, str(path), contract, facts)
    assert supported(contract, raw.columns)
    return contract, native_pass(spark, raw, contract, TODAY), arrow_pass(raw, contract, TODAY)


def _sorted(rows):
    return sorted((tuple(r) for r in rows), key=repr)


def test_native_and_arrow_passes_give_the_same_rows_findings_and_identifiers(spark, tmp_path):
    # GIVEN a month of absences, a few planted identifiers, and one cell in about sixteen
    # overwritten by a value each engine might read its own way
    data, _ = plant(generate(3000, seed=11, first=date(2025, 1, 1), days=31,
                             invalid_nir_rate=0.01), seed=11)
    contract, native, arrow = _both(spark, tmp_path, _scrambled(data, seed=11))
    native = native.cache()
    # WHEN both passes type it, THEN the clean rows are the same, every column
    assert _sorted(clean_rows(native, contract).collect()) == \
        _sorted(clean_rows(arrow, contract).collect())
    # and so are the findings (column, rule, reason, first of its row) and identifiers
    for severity in (ERROR, WARNING):
        assert _sorted(findings(native, severity).collect()) == \
            _sorted(findings(arrow, severity).collect()), severity
    assert sorted(sensitive_values(native).to_pylist()) == \
        sorted(sensitive_values(arrow).to_pylist())
    # and both ways were taken: most rows natively, every odd one through Arrow
    typed_natively = native.filter((native[TAG] == ROW) & native[VALUES].isNotNull()).count()
    through_arrow = native.filter((native[TAG] == ROW) & native[VALUES].isNull()).count()
    assert typed_natively > 1000 and through_arrow > 300
    assert findings(arrow, ERROR).count() > 300 and findings(arrow, WARNING).count() > 10
