"""The model registry: versions, their lineage, and the champion and challenger aliases.

Per entity, under ``models/<dataset>/<entity>/`` in the artefacts bucket:

- ``versions/<id>.json``: the model itself (detector, parameters, seed, fitted state and
  the digest of its training data). The id is the digest of those bytes, so retraining on
  the same data with the same parameters and seed gives the same bytes and the same id.
- ``lineage/<id>.json``: where it came from (training objects and their S3 versions,
  schema hash, contract hash, pseudonymisation key version, code version, metrics, the
  execution that produced it, the parent version, timestamps). Written once.
- ``aliases.json``: which version is ``champion`` and ``challenger``, and every move of
  either, so a rollback knows where to go back to.

The first two are written once and never changed, so a process remembers what it read or
wrote of them (:class:`WrittenOnce`): a warm Lambda environment of CheckModel or Score
then reads only each entity's aliases, the one document that moves. A version is
remembered only if its bytes give its id back, so even another registry under the same
bucket name cannot hand a remembered version out for a different model.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from lakeguard.exceptions import ModelError
from lakeguard.layout import MODELS_FOLDER, model_prefix
from lakeguard.ml.store import ConflictError, Store, encode

CHAMPION = "champion"
CHALLENGER = "challenger"
ALIASES = (CHAMPION, CHALLENGER)

#: Conditional alias writes retried this often before giving up.
_ALIAS_ATTEMPTS = 5


@dataclass(frozen=True)
class ModelVersion:
    """One fitted model: everything needed to score with it, nothing run-specific."""

    dataset: str
    entity: str
    detector: str
    model: dict[str, Any]
    seed: int
    training_digest: str

    def to_json(self) -> dict[str, Any]:
        """The stored document (no timestamps or execution ids: those are lineage)."""
        return {"dataset": self.dataset, "entity": self.entity, "detector": self.detector,
                "model": self.model, "seed": self.seed, "training_digest": self.training_digest}

    @property
    def version(self) -> str:
        """Digest of the stored bytes."""
        return hashlib.sha256(encode(self.to_json())).hexdigest()[:16]

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ModelVersion:
        """Rebuild a version from its stored document."""
        try:
            return cls(doc["dataset"], doc["entity"], doc["detector"], doc["model"],
                       int(doc["seed"]), doc["training_digest"])
        except (KeyError, TypeError) as err:
            raise ModelError(f"not a model version document (missing {err})") from err


class WrittenOnce:
    """Documents of keys written once, by (store, key), the least recently used forgotten.

    Each caller gets its own copy: what one stage does with a document cannot change
    what the next one is handed.
    """

    #: Entries kept: a few thousand small documents, more than a dataset's entities.
    SIZE = 4096

    def __init__(self) -> None:
        self._known: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, key: str) -> Any | None:
        """What was remembered for ``key`` of ``store``, or ``None``."""
        with self._lock:
            found = self._known.get((store.location, key))
            if found is not None:
                self._known.move_to_end((store.location, key))
        return None if found is None else copy.deepcopy(found)

    def put(self, store: Store, key: str, value: Any) -> None:
        """Remember ``value`` for ``key`` of ``store``."""
        value = copy.deepcopy(value)
        with self._lock:
            self._known[(store.location, key)] = value
            while len(self._known) > self.SIZE:
                self._known.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._known.clear()


#: Model versions read or registered in this process (content-addressed: never stale).
VERSIONS = WrittenOnce()
#: Training references (``metrics.training`` of a lineage) read in this process.
TRAINING = WrittenOnce()


def _versions_key(dataset: str, entity: str, version: str) -> str:
    return f"{model_prefix(dataset, entity)}versions/{version}.json"


def _lineage_key(dataset: str, entity: str, version: str) -> str:
    return f"{model_prefix(dataset, entity)}lineage/{version}.json"


def _aliases_key(dataset: str, entity: str) -> str:
    return f"{model_prefix(dataset, entity)}aliases.json"


def now() -> str:
    """UTC timestamp of registry events."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def register(store: Store, model: ModelVersion, lineage: dict[str, Any]) -> str:
    """Store a version and its lineage (first lineage wins: it records the original run)."""
    version = model.version
    key = _versions_key(model.dataset, model.entity, version)
    store.put(key, model.to_json())
    VERSIONS.put(store, key, model)
    store.put(_lineage_key(model.dataset, model.entity, version),
              {**lineage, "version": version, "dataset": model.dataset, "entity": model.entity,
               "detector": model.detector, "seed": model.seed,
               "params": model.model.get("params", {}), "created_at": now()},
              if_absent=True)
    return version


def get(store: Store, dataset: str, entity: str, version: str) -> ModelVersion:
    """One version, or a ModelError naming what is missing."""
    key = _versions_key(dataset, entity, version)
    known: ModelVersion | None = VERSIONS.get(store, key)
    if known is not None:
        return known
    doc, _ = store.get(key)
    if doc is None:
        raise ModelError(f"no model version {version} for {dataset}/{entity}; "
                         "`lakeguard models list` shows the ones that exist")
    model = ModelVersion.from_json(doc)
    if model.version == version:  # its bytes are its id: the same key can hold nothing else
        VERSIONS.put(store, key, model)
    return model


def lineage(store: Store, dataset: str, entity: str, version: str) -> dict[str, Any]:
    """The lineage record of a version (empty when it was never written)."""
    doc, _ = store.get(_lineage_key(dataset, entity, version))
    return doc or {}


def training_reference(store: Store, dataset: str, entity: str, version: str) -> dict[str, Any]:
    """What a version saw in training (``metrics.training`` of its lineage): drift's yardstick.

    A lineage is written once, before its version can be given an alias, so what was read
    of it stays true for the registry's life; it is remembered (see :class:`WrittenOnce`).
    """
    key = _lineage_key(dataset, entity, version)
    known: dict[str, Any] | None = TRAINING.get(store, key)
    if known is not None:
        return known
    doc = lineage(store, dataset, entity, version)
    try:
        training: dict[str, Any] = doc["metrics"]["training"]
    except (KeyError, TypeError) as err:
        raise ModelError(f"model version {version} of {dataset}/{entity} has no training "
                         f"metrics in its lineage (missing {err}); retrain the entity") from err
    TRAINING.put(store, key, training)
    return training


#: An aliases document as read, with its tag: what a conditional write of it asserts.
Marks = tuple[dict[str, Any], str | None]


def marks(store: Store, dataset: str, entity: str) -> Marks:
    """The aliases document (see :func:`aliases`) and its tag (``None``: never written)."""
    doc, tag = store.get(_aliases_key(dataset, entity))
    return doc or {CHAMPION: None, CHALLENGER: None, "events": []}, tag


def aliases(store: Store, dataset: str, entity: str) -> dict[str, Any]:
    """``{"champion": id|None, "challenger": id|None, "events": [...]}``."""
    return marks(store, dataset, entity)[0]


def resolve(store: Store, dataset: str, entity: str, alias: str) -> ModelVersion | None:
    """The version an alias points at, or ``None`` when it points nowhere."""
    return resolve_marked(store, dataset, entity, alias, marks(store, dataset, entity))


def resolve_marked(store: Store, dataset: str, entity: str, alias: str,
                   known: Marks) -> ModelVersion | None:
    """The version an alias of an aliases document already read points at."""
    version = known[0].get(alias)
    return None if version is None else get(store, dataset, entity, version)


def set_alias(store: Store, dataset: str, entity: str, alias: str, version: str | None,
              reason: str, known: Marks | None = None) -> dict[str, Any]:
    """Point an alias at a version (or nowhere), recording the move; retried on conflicts.

    ``known`` is the aliases document as the caller read it, with its tag: the first
    attempt writes on top of it without reading it again, and fails like any other
    attempt (then reads afresh) if it changed since.
    """
    if alias not in ALIASES:
        raise ModelError(f"no alias {alias!r}; aliases are {', '.join(ALIASES)}")
    if version is not None:
        get(store, dataset, entity, version)
    for _ in range(_ALIAS_ATTEMPTS):
        doc, tag = known if known is not None else marks(store, dataset, entity)
        known = None
        event = {"at": now(), "alias": alias, "version": version, "previous": doc.get(alias),
                 "reason": reason}
        updated = {**doc, alias: version, "events": [*doc["events"], event]}
        try:
            # a first document another writer created meanwhile is a lost race too
            if store.put(_aliases_key(dataset, entity), updated, if_tag=tag,
                         if_absent=tag is None):
                return updated
        except ConflictError:
            pass
    raise ModelError(f"could not move {alias} of {dataset}/{entity}: it kept changing "
                     f"under {_ALIAS_ATTEMPTS} concurrent updates; retry")


def promote(store: Store, dataset: str, entity: str, version: str | None = None,
            reason: str = "promoted by hand", known: Marks | None = None) -> str:
    """Make a version (by default the challenger) the champion (``known``: see set_alias)."""
    known = known if known is not None else marks(store, dataset, entity)
    current = known[0]
    target = version or current.get(CHALLENGER)
    if target is None:
        raise ModelError(f"{dataset}/{entity} has no challenger to promote; name a version")
    set_alias(store, dataset, entity, CHAMPION, target, reason, known)
    if current.get(CHALLENGER) == target:
        set_alias(store, dataset, entity, CHALLENGER, None, f"{reason}: now champion")
    return target


def rollback(store: Store, dataset: str, entity: str, reason: str = "rolled back by hand") -> str:
    """Give the champion alias back to the version that held it before the current one."""
    current = aliases(store, dataset, entity)
    moves = [e for e in current["events"] if e["alias"] == CHAMPION]
    if not moves or moves[-1]["previous"] is None:
        raise ModelError(f"{dataset}/{entity} has no earlier champion to roll back to")
    target: str = moves[-1]["previous"]
    set_alias(store, dataset, entity, CHAMPION, target, reason)
    return target


def entities(store: Store, dataset: str | None = None) -> list[tuple[str, str]]:
    """Every (dataset, entity) with at least one version."""
    found = set()
    for key in store.keys(MODELS_FOLDER if dataset is None else f"{MODELS_FOLDER}{dataset}/"):
        parts = key.removeprefix(MODELS_FOLDER).split("/")
        if len(parts) == 4 and parts[2] == "versions":
            found.add((parts[0], parts[1]))
    return sorted((d, unquote(e)) for d, e in found)


def versions(store: Store, dataset: str, entity: str) -> list[dict[str, Any]]:
    """Every version of an entity with its lineage and aliases, oldest first."""
    marks = aliases(store, dataset, entity)
    rows = []
    for key in store.keys(f"{model_prefix(dataset, entity)}versions/"):
        version = key.rsplit("/", 1)[-1].removesuffix(".json")
        info = lineage(store, dataset, entity, version)
        rows.append({**info, "version": version,
                     "aliases": [a for a in ALIASES if marks.get(a) == version]})
    return sorted(rows, key=lambda r: (r.get("created_at", ""), r["version"]))
