"""The state document the pipeline passes between stages, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakeguard.layout import key_id


@dataclass(frozen=True)
class ObjectRef:
    """The raw object version an execution works on (the state machine's input)."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    dataset: str | None
    run_id: str
    received_at: str | None = None
    #: S3's order of writes to this key (hex; compare after right-padding with zeros).
    sequencer: str | None = None

    @property
    def key_id(self) -> str:
        """Id of the raw key, naming every object derived from it."""
        return key_id(self.key)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ObjectRef:
        """Read the object fields of the execution's state document."""
        return cls(
            bucket=state["bucket"], key=state["key"], version_id=state.get("version_id"),
            size=int(state.get("size", 0)), dataset=state.get("dataset"), run_id=state["run_id"],
            received_at=state.get("received_at"), sequencer=state.get("sequencer"),
        )

    def to_state(self) -> dict[str, Any]:
        """The execution input that starts a pipeline run for this object."""
        return {
            "bucket": self.bucket, "key": self.key, "version_id": self.version_id,
            "size": self.size, "dataset": self.dataset, "run_id": self.run_id,
            "received_at": self.received_at, "sequencer": self.sequencer,
        }
