"""Model versions and the champion alias, kept as JSON in the artefacts bucket.

A version id is a digest of the model's content, so retraining on the same data with
the same parameters names the same version and rewrites nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import boto3

from lakeguard.pipeline.layout import model_prefix
from lakeguard.s3io import get_json, put_json


@dataclass(frozen=True)
class ModelVersion:
    """One fitted model and the lineage that explains it."""

    dataset: str
    entity: str
    detector: str
    params: dict[str, Any]
    state: dict[str, Any]
    training: dict[str, Any]

    @property
    def version(self) -> str:
        """Content digest: same detector, parameters, state and training data, same id."""
        body = json.dumps(
            {"detector": self.detector, "params": self.params, "state": self.state,
             "training": self.training}, sort_keys=True,
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """The document stored for this version."""
        return {
            "version": self.version, "dataset": self.dataset, "entity": self.entity,
            "detector": self.detector, "params": self.params, "state": self.state,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ModelVersion:
        """Rebuild a version from its stored document."""
        return cls(doc["dataset"], doc["entity"], doc["detector"], doc["params"], doc["state"],
                   doc["training"])


def save(model: ModelVersion, bucket: str, session: boto3.session.Session | None = None) -> str:
    """Store a version and make it the entity's champion; return the version id."""
    prefix = model_prefix(model.dataset, model.entity)
    put_json(model.to_json(), bucket, f"{prefix}{model.version}.json", session)
    put_json({"version": model.version}, bucket, f"{prefix}champion.json", session)
    return model.version


def champion(
    dataset: str, entity: str, bucket: str, session: boto3.session.Session | None = None
) -> ModelVersion | None:
    """The entity's current champion, or ``None`` when it has never been trained."""
    prefix = model_prefix(dataset, entity)
    alias = get_json(bucket, f"{prefix}champion.json", session)
    if alias is None:
        return None
    doc = get_json(bucket, f"{prefix}{alias['version']}.json", session)
    return None if doc is None else ModelVersion.from_json(doc)
