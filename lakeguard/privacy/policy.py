"""Apply a contract's per-column policy to typed batches: the only way data leaves raw.

``keep`` passes a column, ``drop`` removes it, ``pseudonymise`` replaces it with a keyed
pseudonym, ``generalise`` coarsens it (departement, age band, year, month, bands, top
code), ``redact`` scrubs identifiers out of free text. A value that cannot be generalised
rejects its row (with a reason) rather than passing through.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.contracts.model import Column, Contract
from lakeguard.exceptions import ContractError
from lakeguard.privacy import generalise as gen
from lakeguard.privacy.patterns import redact
from lakeguard.privacy.pseudonym import PseudonymKey, canonical_text
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
    return gen.top_code(values, float(rule["top"]))


def per_distinct(function: Callable[[pa.Array], pa.Array], values: pa.Array) -> pa.Array:
    """``function(values)``, computed once per distinct value.

    Free text repeats a lot, and several regular expressions per cell cost more than
    encoding the column.
    """
    encoded = pc.dictionary_encode(values)
    return pc.take(function(encoded.dictionary), encoded.indices)


def apply_policies(
    batch: pa.RecordBatch, contract: Contract, key: PseudonymKey | None
) -> tuple[pa.RecordBatch, list[Reject]]:
    """Turn a typed batch into clean rows; return them and the rows rejected on the way."""
    out: dict[str, pa.Array] = {}
    bad = pa.repeat(False, batch.num_rows)
    rejects: list[Reject] = []
    for column in contract.columns:
        names = column.typed_names
        if column.policy == "drop":
            continue
        if column.policy == "keep":
            out.update({o: batch.column(n)
                        for n, o in zip(names, column.output_names, strict=True)})
            continue
        target = column.output_names[0]
        if column.policy == "pseudonymise":
            if key is None:
                raise ContractError(f"{contract.path}: column {column.name!r} is pseudonymised "
                                    "but no pseudonymisation key was provided")
            values = batch.column(column.name)
            canonical = values if column.type == "nir" else canonical_text(values)
            out[target] = key.pseudonymise(canonical)
        elif column.policy == "redact":
            out[target] = per_distinct(redact, batch.column(column.name))
        else:
            values, failed = _generalise(batch, column)
            out[target] = values
            rows = pc.filter(batch.column(ROW), failed).to_pylist()
            rejects += [Reject(row, column.source, f"cannot generalise to {column.generalise['to']}")
                        for row in rows]
            bad = pc.or_(bad, failed)
    for derived in contract.derived:
        out[derived.name] = batch.column(derived.name)
    result = pa.RecordBatch.from_pydict(out)
    return result.filter(pc.invert(bad)), rejects
