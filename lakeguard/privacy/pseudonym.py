"""Keyed pseudonyms: HMAC-SHA256 over a canonical form, with a key from Secrets Manager.

Same key and value give the same pseudonym in every file and run, so records still join;
another key gives unrelated pseudonyms. There is deliberately no unkeyed hash: without the
key, a dictionary of all NIRs or names would reverse it. The key never leaves this module:
callers get its version id, which every output records.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import boto3
import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.aws import client

#: Hex characters kept from the HMAC: 128 bits, collision-free at any lake's scale.
PSEUDONYM_LENGTH = 32


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key and its version id (the only part that may be shown)."""

    version_id: str
    secret: bytes = field(repr=False)

    def pseudonymise(self, canonical_values: pa.Array) -> pa.Array:
        """Pseudonymise canonical values; nulls stay null.

        Each distinct value is hashed once per batch: identifiers repeat (several absences
        per person), and HMAC is the costly part.
        """
        distinct = pc.unique(canonical_values).drop_null()
        digests = [
            hmac.new(self.secret, v.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]
            for v in distinct.to_pylist()
        ]
        positions = pc.index_in(canonical_values, value_set=distinct)
        return pc.take(pa.array(digests, pa.string()), positions)


def canonical_text(values: pa.Array) -> pa.Array:
    """Canonical form of free identifiers: trimmed, inner spaces collapsed, case-folded."""
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.utf8_lower(pc.replace_substring_regex(trimmed, pattern=r"\s+", replacement=" "))


_CACHE: dict[tuple[str, str | None], PseudonymKey] = {}


def load_key(secret_id: str, version_id: str | None = None,
             session: boto3.session.Session | None = None) -> PseudonymKey:
    """Fetch the key (current version unless ``version_id`` is given) from Secrets Manager."""
    cache_key = (secret_id, version_id)
    if cache_key not in _CACHE or session is not None:
        extra = {"VersionId": version_id} if version_id else {}
        response = client("secretsmanager", session).get_secret_value(SecretId=secret_id, **extra)
        key = PseudonymKey(response["VersionId"], response["SecretString"].encode("utf-8"))
        if version_id is None:
            return key  # the current version may rotate: never cache it across calls
        _CACHE[cache_key] = key
    return _CACHE[cache_key]
