"""Keyed pseudonyms: HMAC-SHA256 over a canonical form, with a key from Secrets Manager.

Same key and value give the same pseudonym in every file and run, so records still join;
another key gives unrelated pseudonyms. There is deliberately no unkeyed hash: without the
key, a dictionary of all NIRs or names would reverse it. The key never leaves this module:
callers get its version id, which every output records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.aws import client

if TYPE_CHECKING:
    import boto3

#: Hex characters kept from the HMAC: 128 bits, collision-free at any lake's scale.
PSEUDONYM_LENGTH = 32

#: Pseudonyms a key remembers before it forgets them all (about 12 MB at most): enough
#: for the people of neighbouring batches (a 4 MB batch brings at most ~25,000), which is
#: where identifiers repeat. At 250,000 the memo was the largest store growing with the
#: people of a file (~45 MB, ``bench/memory.py``), for 1-2% of CPU on 1M rows (in noise).
_KNOWN_LIMIT = 1 << 16


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key and its version id (the only part that may be shown)."""

    version_id: str
    secret: bytes = field(repr=False)
    _known: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __reduce__(self) -> tuple[type[PseudonymKey], tuple[str, bytes]]:
        """Pickle (for Spark's workers) the key alone, without the per-process caches."""
        return PseudonymKey, (self.version_id, self.secret)

    def key_pads(self) -> tuple[bytes, bytes]:
        """The HMAC-SHA256 inner and outer key pads (RFC 2104): as secret as the key.

        ``sha256(outer + sha256(inner + value))`` is ``hmac.new(secret, value, sha256)``,
        which is how an engine with SHA-256 but no HMAC (Spark SQL) computes the same
        pseudonyms (:mod:`lakeguard.glue.pseudonyms`).
        """
        block = hashlib.sha256().block_size
        secret = hashlib.sha256(self.secret).digest() if len(self.secret) > block \
            else self.secret
        secret = secret.ljust(block, b"\0")
        return bytes(b ^ 0x36 for b in secret), bytes(b ^ 0x5C for b in secret)

    @cached_property
    def _pads(self) -> tuple[Any, Any]:
        """SHA-256 states after the key pads.

        Copying them per value gives exactly ``hmac.new(secret, value, sha256)`` at a
        third of its cost, which matters when every row carries an identifier.
        """
        inner, outer = self.key_pads()
        return hashlib.sha256(inner), hashlib.sha256(outer)

    def pseudonymise(self, canonical_values: pa.Array) -> pa.Array:
        """Pseudonymise canonical values; nulls stay null.

        Each distinct value is hashed once, and remembered for the next batches (up to
        ``_KNOWN_LIMIT`` values, so memory stays bounded): identifiers repeat (several
        absences per person), and HMAC is the costly part.
        """
        distinct = pc.unique(canonical_values).drop_null()
        inner_pad, outer_pad = self._pads
        known = self._known
        if len(known) > _KNOWN_LIMIT:
            known.clear()
        digests = []
        for value in distinct.to_pylist():
            digest = known.get(value)
            if digest is None:
                inner, outer = inner_pad.copy(), outer_pad.copy()
                inner.update(value.encode("utf-8"))
                outer.update(inner.digest())
                digest = known[value] = outer.hexdigest()[:PSEUDONYM_LENGTH]
            digests.append(digest)
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
