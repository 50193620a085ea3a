"""Apply a contract's per-column policy to typed batches: the only way data leaves raw.

``keep`` passes a column (a kept column's value outside its declared shape rejects the
row), ``drop`` removes it, ``pseudonymise`` replaces it with a keyed pseudonym,
``generalise`` coarsens it (departement, age band, year, month, bands, top code),
``redact`` folds free text and replaces every identifier in it by its kind. A value that
cannot be generalised rejects its row (with a reason) rather than passing through.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Column, Contract
from lakeguard.exceptions import ContractError
from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.words import redact_row_words
from lakeguard.privacy import generalise as gen
from lakeguard.privacy.detectors import redact_patterns
from lakeguard.privacy.pseudonym import PseudonymKey, canonical_text
from lakeguard.privacy.shapes import outside
from lakeguard.transforms.parse import ROW, Reject


def _generalise(batch: pa.RecordBatch, column: Column) -> tuple[pa.Array, pa.Array]:
    values = batch.column(column.name)
    rule = column.generalise
    to = rule["to"]
    if to == "departement":
        return gen.departement(values)
    if to == "age_band":
        return gen.age_band(values, batch.column(rule["at"]), int(rule.get("width", 5)))
    if to == "birth_year":
        return gen.birth_year(values)
    if to == "month":
        return gen.month(values)
    if to == "bands":
        return gen.bands(values, [float(e) for e in rule["edges"]])
    if to == "band_floor":
        return gen.band_floor(values, [float(e) for e in rule["edges"]])
    return gen.top_code(values, float(rule["top"]))


def per_distinct(function: Callable[[pa.Array], pa.Array], values: pa.Array) -> pa.Array:
    """``function(values)``, computed once per distinct value.

    Free text repeats a lot, and several regular expressions per cell cost more than
    encoding the column.
    """
    encoded = pc.dictionary_encode(values)
    return pc.take(function(encoded.dictionary), encoded.indices)


def redact_free_text(values: pa.Array, batch: pa.RecordBatch, contract: Contract) -> pa.Array:
    """Fold free text and replace its identifiers: patterns, then the row's own values.

    Names of the whole object are replaced later, once the object has been read
    (:func:`lakeguard.privacy.anonymise.anonymise_stream`).
    """
    text = per_distinct(lambda v: redact_patterns(fold(v)), values)
    by_kind: dict[str, list[pa.Array]] = {}
    for column in contract.columns:
        if column.scope == "row" and column.identifies is not None:
            by_kind.setdefault(column.identifies.upper(), []).append(
                pc.cast(batch.column(column.name), pa.string()))
    for kind, row_values in by_kind.items():
        text = redact_row_words(text, row_values, kind)
    return text


def _shape_rejects(batch: pa.RecordBatch, column: Column) -> tuple[pa.Array, list[Reject]]:
    """Rows whose kept value lies outside the column's declared shape."""
    assert column.shape is not None
    shape = column.shape
    failed = pc.fill_null(per_distinct(lambda v: outside(v, shape), batch.column(column.name)),
                          False)
    rows = pc.filter(batch.column(ROW), failed).to_pylist()
    reason = f"value outside the declared shape ({column.shape.describe()})"
    return failed, [Reject(row, column.source, reason) for row in rows]


def apply_policies(
    batch: pa.RecordBatch, contract: Contract, key: PseudonymKey | None, keep_row: bool = False,
    key_later: bool = False,
) -> tuple[pa.RecordBatch, list[Reject]]:
    """Turn a typed batch into clean rows; return them and the rows rejected on the way.

    ``keep_row`` keeps the raw row number column (``_row``) so later checks can name rows.
    ``key_later`` leaves each pseudonymised column as its canonical value, for a caller
    that keys it natively in the very next step (the Spark job, :mod:`lakeguard.glue.pseudonyms`)
    or only wants the rejects; such a batch still holds identifiers and must not be kept.
    """
    out: dict[str, pa.Array] = {}
    bad = pa.repeat(False, batch.num_rows)
    rejects: list[Reject] = []
    for column in contract.columns:
        names = column.typed_names
        if column.policy == "drop":
            continue
        if column.policy == "keep":
            if column.shape is not None:
                failed, more = _shape_rejects(batch, column)
                rejects += more
                bad = pc.or_(bad, failed)
            out.update({o: batch.column(n)
                        for n, o in zip(names, column.output_names, strict=True)})
            continue
        target = column.output_names[0]
        if column.policy == "pseudonymise":
            values = batch.column(column.name)
            canonical = values if column.type == "nir" else canonical_text(values)
            if key_later:
                out[target] = canonical
                continue
            if key is None:
                raise ContractError(f"{contract.path}: column {column.name!r} is pseudonymised "
                                    "but no pseudonymisation key was provided")
            out[target] = key.pseudonymise(canonical)
        elif column.policy == "redact":
            out[target] = redact_free_text(batch.column(column.name), batch, contract)
        else:
            values, failed = _generalise(batch, column)
            out[target] = values
            rows = pc.filter(batch.column(ROW), failed).to_pylist()
            rejects += [Reject(row, column.source, f"cannot generalise to {column.generalise['to']}")
                        for row in rows]
            bad = pc.or_(bad, failed)
    for derived in contract.derived:
        out[derived.name] = batch.column(derived.name)
    if keep_row:
        out[ROW] = batch.column(ROW)
    result = pa.RecordBatch.from_pydict(out)
    return result.filter(pc.invert(bad)), rejects
