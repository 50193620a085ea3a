"""Typed view of a dataset contract: the single source of truth for one dataset.

A contract is a TOML file under ``datasets/``; :mod:`lakeguard.contracts.loader` turns it
into these frozen dataclasses and reports every mistake with file, field and fix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

ColumnType = Literal["string", "int", "float", "date", "score", "nir"]
Policy = Literal["keep", "drop", "pseudonymise", "generalise", "redact"]
Severity = Literal["error", "warning"]

COLUMN_TYPES: tuple[str, ...] = ("string", "int", "float", "date", "score", "nir")
POLICIES: tuple[str, ...] = ("keep", "drop", "pseudonymise", "generalise", "redact")
GENERALISATIONS: tuple[str, ...] = ("departement", "age_band", "birth_year", "month", "bands",
                                    "band_floor", "top_code")
#: What a raw column identifies, which tells the redactor and the leak guard how to look
#: for it in the output (see :mod:`lakeguard.identifiers.rawvalues`).
IDENTIFIERS: tuple[str, ...] = ("name", "nir", "birth_date", "postcode", "email", "phone", "id",
                                "job")
#: Where a column's raw values are identifiers: anywhere in the object, or in their own row.
SCOPES: tuple[str, ...] = ("object", "row")
SEVERITIES: tuple[str, ...] = ("error", "warning")

#: Encodings a contract may declare (Python's codec name -> the Java charset Spark reads
#: with). All are ASCII-compatible, so a line break is one byte and Spark can split lines.
ENCODINGS: dict[str, str] = {"utf-8": "UTF-8", "cp1252": "windows-1252",
                             "iso8859-1": "ISO-8859-1", "iso8859-15": "ISO-8859-15"}

#: The first year of the Gregorian calendar everywhere. Spark and Arrow count days before
#: 15 October 1582 differently (Julian vs proleptic Gregorian) and Spark refuses to read
#: them back, so a date column accepts no earlier year, whatever its contract declares.
FIRST_GREGORIAN_YEAR = 1583


@dataclass(frozen=True)
class Shape:
    """What a kept column's values must look like; see :mod:`lakeguard.privacy.shapes`."""

    pattern: str | None = None
    values: tuple[str, ...] = ()
    check: Literal["luhn"] | None = None

    def describe(self) -> str:
        """The rule, for reject reasons (never a value of the data)."""
        parts = []
        if self.pattern is not None:
            parts.append(f"pattern {self.pattern!r}")
        if self.values:
            parts.append(f"one of {len(self.values)} declared values")
        if self.check is not None:
            parts.append(f"{self.check} check digit")
        return " and ".join(parts)


@dataclass(frozen=True)
class Bounds:
    """Plausible values of one column; outside them a row is rejected or warned about.

    Dates take ``min_year``, ``max_year`` and ``max_days_ahead`` (how far after the day
    of processing a date may lie); numbers take ``min`` and ``max``. ``severity`` says
    whether a value outside rejects its row (``error``) or is kept and reported
    (``warning``). A column may carry several, e.g. an error floor and a warning ceiling.
    """

    severity: Severity = "error"
    min: float | None = None
    max: float | None = None
    min_year: int | None = None
    max_year: int | None = None
    max_days_ahead: int | None = None


@dataclass(frozen=True)
class Column:
    """One raw column: where it comes from, how it is typed and what may leave raw.

    A ``score`` column (``"3-1"``) types into two integer columns named by ``into``.
    """

    name: str
    source: str
    type: ColumnType
    policy: Policy
    required: bool = True
    date_format: str | None = None
    into: tuple[str, str] | None = None
    null_values: tuple[str, ...] = ("",)
    normalise: Literal["name"] | None = None
    generalise: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    bounds: tuple[Bounds, ...] = ()
    #: What a string value that looks twice-encoded (``Ã©`` for ``é``) does to its row.
    mojibake: Severity = "error"
    #: What the raw values identify (``name``, ``nir``, ...), when they do.
    identifier: str | None = None
    #: ``object``: an identifier anywhere in the object; ``row``: only next to its own row.
    scope: Literal["object", "row"] = "object"
    #: A kept column's allowed values; rows outside are rejected.
    shape: Shape | None = None

    @property
    def identifies(self) -> str | None:
        """What the raw values identify: declared, or ``id`` for any pseudonymised column."""
        if self.identifier is not None:
            return self.identifier
        return "id" if self.policy == "pseudonymise" else None

    @property
    def typed_names(self) -> tuple[str, ...]:
        """Names of the typed columns this raw column becomes (before its policy)."""
        return self.into if self.type == "score" and self.into else (self.name,)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the clean columns this raw column becomes (none when dropped)."""
        if self.policy == "drop":
            return ()
        if self.output and len(self.typed_names) == 1:
            return (self.output,)
        return self.typed_names


#: What a row whose natural key another raw object already published does: ``reject``
#: quarantines the whole file, ``skip`` publishes the file without those rows, ``replace``
#: publishes them in place of the earlier rows, whose object keeps the rest (counted and
#: named in the ledger and the audit record).
CONFLICT_POLICIES: tuple[str, ...] = ("reject", "skip", "replace")


@dataclass(frozen=True)
class NaturalKey:
    """The clean columns that identify one real-world fact (a match: its date and home team).

    Without it duplicates are found only within one raw object; with it a row is checked
    against every row the dataset's other raw keys have published.
    """

    columns: tuple[str, ...]
    on_conflict: Literal["reject", "skip", "replace"] = "reject"


#: Distinct people (or sensitive values) counted per class, at most: a class's count is
#: exact below this and reads as this from it on, which is all a check of ``k`` or ``l``
#: needs, and keeps what the counter holds proportional to the classes, not to the people.
COUNT_CAP = 100


@dataclass(frozen=True)
class PrivacySpec:
    """Guarantees enforced on the clean output before anything is written."""

    quasi_identifiers: tuple[str, ...] = ()
    k: int = 5
    subject: str | None = None
    #: The sensitive attribute (e.g. the diagnosis chapter) that must vary in each class.
    sensitive: str | None = None
    #: Distinct sensitive values each published class must hold (distinct l-diversity).
    l: int = 2  # noqa: E741 - the literature's name
    #: Where classes are counted: over the whole published clean table (at Publish), or
    #: within the one object being published (at Clean).
    k_scope: Literal["table", "object"] = "table"


@dataclass(frozen=True)
class RawFormat:
    """How producers deliver the dataset's files."""

    prefix: str
    format: Literal["csv"]
    delimiter: str = ","
    #: One of :data:`ENCODINGS`, by its Python codec name.
    encoding: str = "utf-8"
    max_bytes: int = 50 * 1024 * 1024
    retention_days: int = 365
    max_reject_ratio: float = 0.0
    #: What a column the contract does not declare does: fail the file, or be left in raw.
    unknown_columns: Literal["reject", "ignore"] = "reject"

    @property
    def java_encoding(self) -> str:
        """The same encoding by the name Spark (Java) knows it."""
        return ENCODINGS[self.encoding]


@dataclass(frozen=True)
class Derived:
    """A clean column computed from other clean columns (e.g. the season of a date)."""

    name: str
    function: str
    source: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityRule:
    """A check the clean data must pass before anything is refined."""

    rule: Literal["not_null", "range", "min_rows", "unique"]
    columns: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class RefinedTable:
    """An analytics table derived from clean data by a named refine transform."""

    table: str
    transform: str
    partition_by: tuple[str, ...]
    description: str
    options: dict[str, Any] = field(default_factory=dict)


#: Detectors a contract may name (``lakeguard.ml.detectors.DETECTORS`` implements exactly
#: these; a test holds the two together). Named here so that loading a contract, which
#: every stage does, does not import the detectors' numerical code.
DETECTOR_NAMES = ("forecast_likelihood", "quantile_band", "range_likelihood", "robust_zscore")

#: Derivations a contract's ``[[derived]]`` tables may name (``lakeguard.transforms.derive``
#: implements exactly these; a test holds the two together). Named here for the same
#: reason: loading a contract must not import pyarrow (the ingest function does not ship
#: with it at hand, and contracts sit below transforms).
DERIVATION_NAMES = ("days_between", "season", "year")


@dataclass(frozen=True)
class ModelSpec:
    """What to watch for anomalies: one series per entity, over time."""

    table: str
    entity: str
    time: str
    value: str
    period: str
    detector: str
    params: dict[str, Any] = field(default_factory=dict)
    #: Retrain when this run's values drift further than this from the training data.
    psi_threshold: float = 0.25
    #: Share of the most recent history a challenger is compared with the champion on.
    holdout: float = 0.2
    #: Share of points expected outside the normal range (the interval score's alpha).
    target_alert_rate: float = 0.1


@dataclass(frozen=True)
class Contract:
    """A whole dataset contract."""

    name: str
    version: str
    description: str
    path: str
    raw: RawFormat
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...]
    derived: tuple[Derived, ...] = ()
    quality: tuple[QualityRule, ...] = ()
    refined: tuple[RefinedTable, ...] = ()
    model: ModelSpec | None = None
    privacy: PrivacySpec = field(default_factory=PrivacySpec)
    natural_key: NaturalKey | None = None
    source_text: str = field(default="", repr=False)

    @property
    def digest(self) -> str:
        """Hash of the contract file: recorded with every output and model."""
        return hashlib.sha256(self.source_text.encode("utf-8")).hexdigest()

    @property
    def clean_names(self) -> tuple[str, ...]:
        """Every column of the clean output, in order."""
        names = [n for c in self.columns for n in c.output_names]
        return (*names, *(d.name for d in self.derived))

    @property
    def needs_key(self) -> bool:
        """Whether any column is pseudonymised (and the key must be fetched)."""
        return any(c.policy == "pseudonymise" for c in self.columns)

    def refined_table(self, table: str) -> RefinedTable:
        """Return the refined table called ``table``, or fail naming the known ones."""
        for refined in self.refined:
            if refined.table == table:
                return refined
        known = ", ".join(r.table for r in self.refined) or "none"
        raise KeyError(f"contract {self.path} has no refined table {table!r} (known: {known})")

    def to_json(self) -> str:
        """Canonical JSON of the contract's identity, for lineage records."""
        return json.dumps(
            {"name": self.name, "version": self.version, "digest": self.digest}, sort_keys=True
        )
