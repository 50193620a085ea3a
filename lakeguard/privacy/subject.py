"""Find one data subject wherever they are: under every key version, and in raw text.

Erasure cannot rely on what parses. A raw or quarantined file holding the subject's row
with a bad date, an unquoted separator or no header still holds their NIR, so raw bytes
are searched as text: folded (:mod:`lakeguard.identifiers.normalise`), digits joined across
separators, then compared with the canonical NIR's first 13 characters (the key may be
mistyped). Clean rows are found by pseudonym, computed with every version of the key,
so rows written before a rotation are found too. The names on the subject's own rows
are kept (as folded words) to find them in other people's comments.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.aws import client
from lakeguard.contracts.model import Contract
from lakeguard.identifiers.normalise import fold
from lakeguard.identifiers.words import identifier_words
from lakeguard.privacy.pseudonym import load_key

if TYPE_CHECKING:
    import boto3

_JOIN = r"([0-9ab])[^\p{L}\p{N}]{1,3}([0-9ab])"


def pseudonyms(secret_id: str, canonical: str,
               session: boto3.session.Session | None = None) -> dict[str, str]:
    """The subject's pseudonym under every version of the key (version id -> pseudonym)."""
    secrets = client("secretsmanager", session)
    versions: list[str] = []
    pages: dict[str, str] = {}  # botocore has no paginator for this call: follow NextToken
    while True:
        page = secrets.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True,
                                               **pages)
        versions += [v["VersionId"] for v in page["Versions"]]
        if not page.get("NextToken"):
            break
        pages = {"NextToken": page["NextToken"]}
    found = {}
    for version in versions:
        key = load_key(secret_id, version_id=version, session=session)
        found[version] = str(key.pseudonymise(pa.array([canonical]))[0].as_py())
    return found


def _lines(body: bytes, encoding: str) -> pa.Array:
    return pa.array(body.decode(encoding, errors="replace").splitlines(), pa.string())


def joined(lines: pa.Array) -> pa.Array:
    """Folded lines with digits joined across up to three separators."""
    values = fold(lines)
    for _ in range(6):
        again = pc.replace_substring_regex(values, _JOIN, r"\1\2")
        if again.equals(values):
            break
        values = again
    return values


def lines_holding(body: bytes, nir_body: str, encoding: str = "utf-8") -> pa.Array:
    """Mask of the lines of a raw object that hold the NIR body, however it was written."""
    lines = _lines(body, encoding)
    if not len(lines):
        return pa.array([], pa.bool_())
    return pc.fill_null(pc.match_substring(joined(lines), nir_body.lower()), False)


def name_words(body: bytes, nir_body: str, contract: Contract) -> pa.Array:
    """Folded words of the name columns on the subject's own lines of a raw object."""
    held = lines_holding(body, nir_body, contract.raw.encoding)
    if not pc.any(held).as_py():
        return pa.array([], pa.string())
    text = body.decode(contract.raw.encoding, errors="replace").splitlines()
    rows = list(csv.reader(io.StringIO("\n".join(text)), delimiter=contract.raw.delimiter))
    header = rows[0] if rows else []
    positions = [header.index(c.source) for c in contract.columns
                 if c.identifies == "name" and c.source in header]
    values = [row[p] for index, row in enumerate(rows) if index and held[index].as_py()
              for p in positions if p < len(row)]
    return identifier_words(pa.array(values, pa.string()))
