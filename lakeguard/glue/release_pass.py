"""The last Arrow pass before the write: names redacted, then the leak guard, in one go.

The words of the object's names are known only once every raw row has been read, so free
text is redacted of them after the first pass (as on the Lambda path's second pass), and
the leak guard must scan exactly what will be written. Both read the same batches: one
``mapInArrow`` does both, its output tagged as :mod:`lakeguard.glue.arrow_pass`'s is
(the redacted rows, and one JSON line of hits per batch that had any), so the rows cross
into Python once, not once for the redaction and again for the scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakeguard.identifiers.rawvalues import RawValues
from lakeguard.privacy.anonymise import redact_names
from lakeguard.privacy.leakguard import scan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

HITS = "__lakeguard_hits"


def release_pass(kept: DataFrame, raw: RawValues, free_text: tuple[str, ...],
                 skip: tuple[str, ...]) -> DataFrame:
    """``kept``'s rows redacted of ``raw``'s names, plus rows holding only :data:`HITS`.

    ``skip`` names the columns the leak guard does not read (pseudonyms: HMACs are never
    compared with raw text). A row of the output is a clean row when :data:`HITS` is null.
    """
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    schema = to_arrow_schema(kept.schema).append(pa.field(HITS, pa.string()))

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            redacted = redact_names(batch, raw, free_text)
            yield redacted.append_column(HITS, pa.nulls(redacted.num_rows, pa.string()))
            hits = scan(pa.Table.from_batches([redacted]), raw, free_text, skip).counts
            if hits:
                yield pa.RecordBatch.from_arrays(
                    [pa.array([json.dumps(hits)]) if f.name == HITS else pa.nulls(1, f.type)
                     for f in schema], schema=schema)

    return kept.mapInArrow(apply, from_arrow_schema(schema))


def released_rows(passed: DataFrame) -> DataFrame:
    """The redacted rows of :func:`release_pass`'s output."""
    from pyspark.sql import functions as F

    return passed.filter(F.col(HITS).isNull()).drop(HITS)


def leaks(passed: DataFrame) -> dict[str, dict[str, int]]:
    """The leak guard's hits over every batch: ``{column: {kind: count}}``."""
    from pyspark.sql import functions as F

    found: dict[str, dict[str, int]] = {}
    for row in passed.filter(F.col(HITS).isNotNull()).select(HITS).collect():
        counts: dict[str, Any] = json.loads(row[HITS])
        for column, kinds in counts.items():
            for name, count in kinds.items():
                found.setdefault(column, {}).setdefault(name, 0)
                found[column][name] += count
    return found
