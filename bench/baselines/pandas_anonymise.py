"""The absences contract's policy written the usual way with pandas, as benchmark baselines.

Same columns and per-column policy as ``datasets/absences.toml`` and lakeguard's clean
output: NIR canonicalised and pseudonymised with HMAC-SHA256 (32 hex characters), names,
job and end date dropped, birth date -> 5-year age band at the absence start, postcode ->
departement (Corsica 2A/2B, overseas 971-976), start -> month, hours top-coded at 1000,
comment redacted with the same identifier patterns, duration and year derived. Neither
does what lakeguard adds on top: NIR validation with reasons, k-anonymity and the leak
guard, so the comparison flatters them.

``rowwise`` is ``DataFrame.apply(axis=1)`` building a Series per row; ``columnwise`` is
pandas per column with list comprehensions and ``Series.map`` (one HMAC per cell). Both
read the CSV with pandas and write Parquet (zstd), as the pipeline step does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

#: The identifier patterns a team would write (the ones lakeguard itself started with).
PATTERNS: dict[str, str] = {
    "NIR": r"\b[1-478][ .]?\d{2}[ .]?(0[1-9]|1[0-2]|20|3\d|4[0-2]|[5-9]\d)[ .]?(\d{2}|2[AaBb])"
           r"[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b",
    "EMAIL": r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
    "PHONE": r"(\+33[ .]?|\b0)[1-9]([ .-]?\d{2}){4}\b",
    "IBAN": r"\b[A-Z]{2}\d{2}([ ]?[A-Z0-9]{4}){3,7}([ ]?[A-Z0-9]{1,3})?\b",
}

_SEPARATORS = re.compile(r"[\s.\-_]")
_COMPILED = [(name, re.compile(pattern)) for name, pattern in PATTERNS.items()]
_OVERSEAS = {"971", "972", "973", "974", "975", "976"}
_WIDTH, _TOP = 5, 1000.0


def read(path: Path, rows: int | None = None) -> pd.DataFrame:
    """The raw CSV as text columns, empty cells as empty strings."""
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, nrows=rows)


def pseudonym(secret: bytes, nir: str) -> str:
    """HMAC-SHA256 of the canonical NIR, 32 hex characters (lakeguard's pseudonym)."""
    canonical = _SEPARATORS.sub("", nir).upper()
    return hmac.new(secret, canonical.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def departement(postcode: str) -> str | None:
    """French postcode -> departement code."""
    code = postcode.strip()
    if len(code) != 5 or not code.isdigit() or code.startswith("00"):
        return None
    if code.startswith("20"):
        return "2A" if code[:3] < "202" else "2B"
    if code.startswith("97"):
        return code[:3] if code[:3] in _OVERSEAS else None
    return code[:2]


def age_band(birth: date, at: date) -> str | None:
    """Age at ``at`` as a 5-year band."""
    age = at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))
    if not 0 <= age <= 120:
        return None
    low = age // _WIDTH * _WIDTH
    return f"{low}-{low + _WIDTH - 1}"


def redact(text: str) -> str:
    """Replace identifiers in free text with their pattern name."""
    for name, pattern in _COMPILED:
        text = pattern.sub(f"[{name}]", text)
    return text


def _row(row: pd.Series, secret: bytes) -> pd.Series:
    start = date.fromisoformat(row["debut_absence"])
    end = date.fromisoformat(row["fin_absence"])
    return pd.Series({
        "person_id": pseudonym(secret, row["nir"]),
        "age_band": age_band(date.fromisoformat(row["date_naissance"]), start),
        "departement": departement(row["code_postal"]),
        "siret": row["siret_employeur"],
        "site": row["site"],
        "month": start.replace(day=1),
        "reason": row["motif_cim"],
        "hours": min(float(row["heures"]), _TOP),
        "comment": redact(row["commentaire"]),
        "duration_days": (end - start).days + 1,
        "year": str(start.year),
    })


def rowwise(raw: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """The policy with ``DataFrame.apply(axis=1)``: one Python call and Series per row."""
    out: pd.DataFrame = raw.apply(_row, axis=1, secret=secret)
    return out


def columnwise(raw: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """The policy column by column: vectorised dates, one HMAC per cell in a comprehension."""
    start = pd.to_datetime(raw["debut_absence"], format="%Y-%m-%d")
    end = pd.to_datetime(raw["fin_absence"], format="%Y-%m-%d")
    birth = pd.to_datetime(raw["date_naissance"], format="%Y-%m-%d")
    before = (start.dt.month < birth.dt.month) | (
        (start.dt.month == birth.dt.month) & (start.dt.day < birth.dt.day))
    age = start.dt.year - birth.dt.year - before.astype(int)
    low = age // _WIDTH * _WIDTH
    band = low.astype(str) + "-" + (low + _WIDTH - 1).astype(str)
    columns: dict[str, Any] = {
        "person_id": [pseudonym(secret, v) for v in raw["nir"]],
        "age_band": band.where(age.between(0, 120)),
        "departement": raw["code_postal"].map(departement),
        "siret": raw["siret_employeur"],
        "site": raw["site"],
        "month": start.dt.to_period("M").dt.to_timestamp().dt.date,
        "reason": raw["motif_cim"],
        "hours": raw["heures"].astype(float).clip(upper=_TOP),
        "comment": raw["commentaire"].map(redact),
        "duration_days": (end - start).dt.days + 1,
        "year": start.dt.year.astype(str),
    }
    return pd.DataFrame(columns)


def run(kind: str, source: Path, target: Path, secret: bytes, rows: int | None = None) -> int:
    """Read ``source``, anonymise it the ``kind`` way, write Parquet (zstd); return the rows."""
    raw = read(source, rows)
    clean = (rowwise if kind == "rowwise" else columnwise)(raw, secret)
    clean.to_parquet(target, compression="zstd", index=False)
    return len(clean)
