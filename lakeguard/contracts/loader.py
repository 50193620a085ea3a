"""Load dataset contracts from TOML and report mistakes with file, field and fix.

Contracts ship inside the ``datasets`` package, so the same loader works from a source
checkout, a Lambda asset and a Glue ``--extra-py-files`` zip (``importlib.resources``
reads from all three).
"""

from __future__ import annotations

import codecs
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from lakeguard.contracts.model import (
    COLUMN_TYPES,
    CONFLICT_POLICIES,
    COUNT_CAP,
    DERIVATION_NAMES,
    DETECTOR_NAMES,
    ENCODINGS,
    GENERALISATIONS,
    IDENTIFIERS,
    POLICIES,
    SCOPES,
    SEVERITIES,
    Bounds,
    Column,
    Contract,
    Derived,
    ModelSpec,
    NaturalKey,
    PrivacySpec,
    QualityRule,
    RawFormat,
    RefinedTable,
    Severity,
    Shape,
)
from lakeguard.exceptions import ContractError, RoutingError

_QUALITY_RULES = ("not_null", "range", "min_rows", "unique")


class _Reader:
    """Typed access to one TOML table that names the file and field on every error."""

    def __init__(self, path: str, where: str, table: dict[str, Any]) -> None:
        self.path, self.where, self.table = path, where, table

    def fail(self, key: str, message: str) -> ContractError:
        field = f"{self.where}.{key}" if self.where else key
        return ContractError(f"{self.path}: field '{field}': {message}")

    def get(self, key: str, kind: type, default: Any = ..., choices: tuple[str, ...] = ()) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, f"is required; add `{key} = ...` to the contract")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be a {kind.__name__}, got {value!r}")
        if choices and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(key, list, list(default))
        if not all(isinstance(v, str) for v in values):
            raise self.fail(key, "must be a list of strings")
        return tuple(values)

    def sub(self, key: str) -> _Reader:
        return _Reader(self.path, f"{self.where}.{key}" if self.where else key,
                       self.get(key, dict))

    def items(self, key: str) -> list[_Reader]:
        tables = self.get(key, list, [])
        return [_Reader(self.path, f"{key}[{i}]", t) for i, t in enumerate(tables)]


#: Bound keys each column type accepts (a score bounds both of its goal counts).
_BOUND_KEYS = {"date": ("min_year", "max_year", "max_days_ahead"), "int": ("min", "max"),
               "float": ("min", "max"), "score": ("min", "max")}


def _one_bounds(r: _Reader, col_type: str) -> Bounds:
    """One bounds table, checked against its column's type (no ``min`` on a date)."""
    allowed = _BOUND_KEYS.get(col_type, ())
    for key in r.table:
        if key != "severity" and key not in allowed:
            hint = f"use {', '.join(allowed)}" if allowed else "bound only dates and numbers"
            raise r.fail(key, f"is not a bound of a {col_type} column; {hint}")
    bounds = Bounds(
        severity=r.get("severity", str, "error", choices=SEVERITIES),
        min=r.get("min", float, None), max=r.get("max", float, None),
        min_year=r.get("min_year", int, None), max_year=r.get("max_year", int, None),
        max_days_ahead=r.get("max_days_ahead", int, None),
    )
    low, high = ("min_year", "max_year") if col_type == "date" else ("min", "max")
    if None not in (getattr(bounds, low), getattr(bounds, high)) and \
            getattr(bounds, low) > getattr(bounds, high):
        raise r.fail(high, f"must not be below {low} ({getattr(bounds, low)})")
    if bounds.max_days_ahead is not None and bounds.max_days_ahead < 0:
        raise r.fail("max_days_ahead", "must be 0 (no future date) or more")
    return bounds


def _bounds(r: _Reader, col_type: str) -> tuple[Bounds, ...]:
    """``bounds = { ... }`` or ``bounds = [{ ... }, { ... }]``: one table per severity."""
    value = r.table.get("bounds")
    if value is None:
        return ()
    tables = value if isinstance(value, list) else [value]
    if not all(isinstance(t, dict) for t in tables):
        raise r.fail("bounds", "must be a table, e.g. { min_year = 1900 }, or a list of them")
    where = f"{r.where}.bounds"
    return tuple(_one_bounds(_Reader(r.path, f"{where}[{i}]" if isinstance(value, list)
                                     else where, t), col_type) for i, t in enumerate(tables))


def _encoding(r: _Reader) -> str:
    """The declared encoding by its Python codec name, if Spark can read it too."""
    declared = r.get("encoding", str, "utf-8")
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        name = declared
    if name not in ENCODINGS:
        raise r.fail("encoding", f"{declared!r} is not supported; use one of "
                                 f"{', '.join(ENCODINGS)} (or have producers send utf-8)")
    return name


def _column(r: _Reader) -> Column:
    col_type = r.get("type", str, choices=COLUMN_TYPES)
    into = r.strings("into") or None
    if col_type == "score" and (into is None or len(into) != 2):
        raise r.fail("into", "a score column needs two output names, e.g. into = ['home', 'away']")
    if col_type == "date" and "format" not in r.table:
        raise r.fail("format", "a date column needs a strptime format, e.g. '%Y-%m-%d'")
    normalise = r.get("normalise", str, None, choices=("name",))
    policy = r.get("policy", str, choices=POLICIES)
    generalise = r.get("generalise", dict, {})
    if policy == "generalise":
        rule = _Reader(r.path, f"{r.where}.generalise", generalise)
        to = rule.get("to", str, choices=GENERALISATIONS)
        needs = {"age_band": "at", "bands": "edges", "band_floor": "edges", "top_code": "top"}
        if to in needs and needs[to] not in generalise:
            raise rule.fail(needs[to], f"generalising to {to} needs `{needs[to]}`")
        kinds = {"departement": ("string",), "age_band": ("date",), "birth_year": ("date",),
                 "month": ("date",), "bands": ("int", "float"), "band_floor": ("int", "float"),
                 "top_code": ("int", "float")}
        if col_type not in kinds[to]:
            raise rule.fail("to", f"{to} applies to {' or '.join(kinds[to])} columns, "
                                  f"not {col_type}")
    if policy == "pseudonymise" and col_type not in ("string", "nir"):
        raise r.fail("policy", f"pseudonymise applies to string or nir columns, not {col_type}")
    if policy == "redact" and col_type != "string":
        raise r.fail("policy", f"redact applies to free-text string columns, not {col_type}")
    shape = _shape(r) if "shape" in r.table else None
    if shape is not None and policy != "keep":
        raise r.fail("shape", "only a kept column declares a shape (the others never leave raw "
                              "as they came)")
    return Column(
        name=r.get("name", str),
        source=r.get("source", str),
        type=col_type,
        policy=policy,
        required=r.get("required", bool, True),
        date_format=r.get("format", str, None),
        into=(into[0], into[1]) if into else None,
        null_values=r.strings("null_values", ("",)),
        normalise=normalise,
        generalise=generalise,
        output=r.get("output", str, None),
        bounds=_bounds(r, col_type),
        mojibake=_mojibake(r, col_type),
        identifier=r.get("identifier", str, None, choices=IDENTIFIERS),
        scope=r.get("scope", str, "object", choices=SCOPES),
        shape=shape,
    )


def _mojibake(r: _Reader, col_type: str) -> Severity:
    severity: Severity = r.get("mojibake", str, "error", choices=SEVERITIES)
    if "mojibake" in r.table and col_type != "string":
        raise r.fail("mojibake", f"applies to string columns, not {col_type}")
    return severity


def _shape(r: _Reader) -> Shape:
    """A kept column's shape: ``pattern``, ``values`` and/or ``check``, at least one."""
    rule = r.sub("shape")
    shape = Shape(pattern=rule.get("pattern", str, None), values=rule.strings("values"),
                  check=rule.get("check", str, None, choices=("luhn",)))
    if shape.pattern is None and not shape.values and shape.check is None:
        raise r.fail("shape", "declare a pattern, values or a check, e.g. "
                              "shape = { values = ['I', 'II'] }")
    if shape.pattern is not None:
        try:
            re.compile(shape.pattern)
        except re.error as err:
            raise rule.fail("pattern", f"is not a regular expression: {err}") from err
    return shape


def parse_contract(text: str, path: str) -> Contract:
    """Build a :class:`Contract` from TOML ``text``; ``path`` is used in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ContractError(f"{path}: not valid TOML: {err}") from err
    top = _Reader(path, "", data)
    raw = top.sub("raw")
    raw_format = RawFormat(
        prefix=raw.get("prefix", str),
        format=raw.get("format", str, choices=("csv",)),
        delimiter=raw.get("delimiter", str, ","),
        encoding=_encoding(raw),
        max_bytes=raw.get("max_bytes", int, 50 * 1024 * 1024),
        retention_days=raw.get("retention_days", int, 365),
        max_reject_ratio=raw.get("max_reject_ratio", float, 0.0),
        unknown_columns=raw.get("unknown_columns", str, "reject", choices=("reject", "ignore")),
    )
    if not raw_format.prefix.endswith("/"):
        raise raw.fail("prefix", f"must end with '/', e.g. '{raw_format.prefix}/'")
    columns = tuple(_column(c) for c in top.items("columns"))
    if not columns:
        raise top.fail("columns", "declare at least one [[columns]] table")
    derived = tuple(
        Derived(name=d.get("name", str), function=d.get("function", str, choices=DERIVATION_NAMES),
                source=d.get("source", str), options=d.get("options", dict, {}))
        for d in top.items("derived")
    )
    typed_names = {n for c in columns for n in c.typed_names}
    for index, column in enumerate(columns):
        at = column.generalise.get("at")
        if at is not None and at not in typed_names:
            raise ContractError(f"{path}: field 'columns[{index}].generalise.at': {at!r} is not "
                                "a column of this contract")
    for index, d in enumerate(derived):
        if d.source not in typed_names:
            raise ContractError(f"{path}: field 'derived[{index}].source': {d.source!r} is not a "
                                "column of this contract")
    clean_names = {n for c in columns for n in c.output_names} | {d.name for d in derived}
    partition_by = top.strings("partition_by")
    for name in partition_by:
        if name not in clean_names:
            raise top.fail("partition_by", f"{name!r} is not a kept or derived column")
    quality = []
    for q in top.items("quality"):
        rule = QualityRule(
            rule=q.get("rule", str, choices=_QUALITY_RULES),
            columns=q.strings("columns"),
            min=q.get("min", float, None),
            max=q.get("max", float, None),
        )
        for name in rule.columns:
            if name not in clean_names:
                raise q.fail("columns", f"{name!r} is not a clean column of this contract")
        quality.append(rule)
    refined = tuple(
        RefinedTable(
            table=t.get("table", str),
            transform=t.get("transform", str),
            partition_by=t.strings("partition_by"),
            description=t.get("description", str, ""),
            options=t.get("options", dict, {}),
        )
        for t in top.items("refined")
    )
    model = None
    if "model" in data:
        m = top.sub("model")
        model = ModelSpec(
            table=m.get("table", str),
            entity=m.get("entity", str),
            time=m.get("time", str),
            value=m.get("value", str),
            period=m.get("period", str),
            detector=m.get("detector", str, choices=DETECTOR_NAMES),
            params=m.get("params", dict, {}),
            psi_threshold=m.get("psi_threshold", float, 0.25),
            holdout=m.get("holdout", float, 0.2),
            target_alert_rate=m.get("target_alert_rate", float, 0.1),
        )
        for share in ("holdout", "target_alert_rate"):
            if not 0.0 < getattr(model, share) < 1.0:
                raise m.fail(share, f"must lie strictly between 0 and 1; got "
                                    f"{getattr(model, share)}")
        if model.table not in {r.table for r in refined}:
            raise m.fail("table", f"{model.table!r} is not one of this contract's refined tables")
    privacy = PrivacySpec()
    if "privacy" in data:
        p = top.sub("privacy")
        privacy = PrivacySpec(quasi_identifiers=p.strings("quasi_identifiers"),
                              k=p.get("k", int, 5), subject=p.get("subject", str, None),
                              sensitive=p.get("sensitive", str, None), l=p.get("l", int, 2),
                              k_scope=p.get("k_scope", str, "table", choices=("table", "object")))
        for name in privacy.quasi_identifiers:
            if name not in clean_names:
                raise p.fail("quasi_identifiers", f"{name!r} is not a clean column")
        if privacy.sensitive is not None and privacy.sensitive not in clean_names:
            raise p.fail("sensitive", f"{privacy.sensitive!r} is not a clean column")
        if privacy.l < 1:
            raise p.fail("l", "must be at least 1")
        for index, column in enumerate(columns):
            if column.policy == "keep" and column.type == "string" and column.shape is None:
                raise ContractError(
                    f"{path}: field 'columns[{index}].shape': column {column.name!r} is kept in "
                    "clear in a dataset with personal data, so it must declare its shape "
                    "(pattern, values or check), e.g. shape = { values = ['Yes', 'No'] }")
        pseudonyms = {n for c in columns if c.policy == "pseudonymise" for n in c.output_names}
        if privacy.subject is not None and privacy.subject not in pseudonyms:
            raise p.fail("subject", f"{privacy.subject!r} must be a pseudonymised column "
                                    f"(one of {sorted(pseudonyms)})")
        if privacy.k < 1:
            raise p.fail("k", "must be at least 1")
        for name, value in (("k", privacy.k), ("l", privacy.l)):
            if value > COUNT_CAP:
                raise p.fail(name, f"must be at most {COUNT_CAP} (classes are counted up to "
                                   f"{COUNT_CAP} people or values)")
    natural_key = _natural_key(top.sub("natural_key"), clean_names) \
        if "natural_key" in data else None
    if (natural_key is not None and natural_key.on_conflict == "replace"
            and privacy.quasi_identifiers and privacy.k_scope == "table"):
        raise top.sub("natural_key").fail(
            "on_conflict", "'replace' removes rows other objects published, which could leave "
            "their classes below k people across the table; use 'skip' or 'reject', or count "
            "k per object (privacy.k_scope = 'object')")
    return Contract(
        name=top.get("name", str),
        version=top.get("version", str),
        description=top.get("description", str, ""),
        path=path,
        raw=raw_format,
        columns=columns,
        partition_by=partition_by,
        derived=derived,
        quality=tuple(quality),
        refined=refined,
        model=model,
        privacy=privacy,
        natural_key=natural_key,
        source_text=text,
    )


def _natural_key(r: _Reader, clean_names: set[str]) -> NaturalKey:
    """``[natural_key]``: clean columns that exist and are published as they came in."""
    key = NaturalKey(columns=r.strings("columns"),
                     on_conflict=r.get("on_conflict", str, "reject", choices=CONFLICT_POLICIES))
    if not key.columns:
        raise r.fail("columns", "name at least one clean column, e.g. columns = ['date']")
    for name in key.columns:
        if name not in clean_names:
            raise r.fail("columns", f"{name!r} is not a clean column (one of "
                                    f"{sorted(clean_names)})")
    return key


def load_contract(name: str) -> Contract:
    """Load the shipped contract ``datasets/<name>.toml``."""
    resource = resources.files("datasets").joinpath(f"{name}.toml")
    if not resource.is_file():
        known = ", ".join(list_contracts()) or "none"
        raise ContractError(
            f"datasets/{name}.toml: no such contract (known datasets: {known}); "
            "add a contract file to datasets/ to onboard a dataset"
        )
    return parse_contract(resource.read_text(encoding="utf-8"), f"datasets/{name}.toml")


def load_contract_file(path: Path) -> Contract:
    """Load a contract from an arbitrary file (for authoring and tests)."""
    return parse_contract(path.read_text(encoding="utf-8"), str(path))


def list_contracts() -> list[str]:
    """Names of every shipped contract, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files("datasets").iterdir()
        if entry.name.endswith(".toml")
    )


def contract_for_key(key: str) -> Contract:
    """Route a raw object key to the contract whose prefix claims it."""
    for name in list_contracts():
        contract = load_contract(name)
        if key.startswith(contract.raw.prefix):
            return contract
    raise RoutingError(
        f"no dataset contract claims the key {key!r}: drop files under one of the prefixes "
        f"{', '.join(load_contract(n).raw.prefix for n in list_contracts())}"
    )
