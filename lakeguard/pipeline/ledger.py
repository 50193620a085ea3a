"""The object ledger: one record per raw object version, from arrival to its final state.

Operators must be able to prove that every file dropped in the raw bucket was published
or quarantined with a reason. Ingest records each version as ``received``, Validate moves
it to ``processing``, Publish to ``published`` (with the objects it wrote) and Quarantine
to ``quarantined`` (with the reason). Every move is a conditional write: a record never
goes back, and a final state is never overwritten (a retried stage that already wrote the
same state is a no-op), so concurrent or repeated executions cannot lose an update.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakeguard.aws import client
from lakeguard.exceptions import LakeguardError
from lakeguard.pipeline.event import ObjectRef

if TYPE_CHECKING:
    import boto3

RECEIVED = "received"
PROCESSING = "processing"
PUBLISHED = "published"
QUARANTINED = "quarantined"
STATES = (RECEIVED, PROCESSING, PUBLISHED, QUARANTINED)
FINAL = (PUBLISHED, QUARANTINED)

#: The ledger's index on ``digest`` (the sha256 of the raw bytes, written when a version is
#: published): finds a file already published under another key in one query.
DIGEST_INDEX = "digest"

#: The states each state may be reached from (a repeat of the same state is a no-op).
_PREDECESSORS = {PROCESSING: (RECEIVED,), PUBLISHED: (RECEIVED, PROCESSING),
                 QUARANTINED: (RECEIVED, PROCESSING)}


class LedgerConflict(LakeguardError):
    """A ledger record was asked to move backwards or out of a final state."""


@dataclass(frozen=True)
class LedgerEntry:
    """What became of one raw object version."""

    bucket: str
    key: str
    version_id: str
    dataset: str | None
    size: int
    state: str
    run_id: str
    received_at: str | None
    updated_at: str
    reason: str | None = None
    digest: str | None = None
    outputs: list[str] = field(default_factory=list)
    sequencer: str | None = None
    execution_arn: str | None = None
    #: Set by ``lakeguard redrive`` / ``reprocess``: the version that re-ran this one, and why.
    rerun_as: str | None = None
    rerun_why: str | None = None
    rerun_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (``lakeguard ledger --json``)."""
        return asdict(self)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LedgerEntry:
        """Read a DynamoDB item (resource API, plain Python values)."""
        return cls(
            bucket=str(item["bucket"]), key=str(item["key"]), version_id=str(item["version_id"]),
            dataset=item.get("dataset"), size=int(item.get("size", 0)), state=str(item["state"]),
            run_id=str(item["run_id"]), received_at=item.get("received_at"),
            updated_at=str(item["updated_at"]), reason=item.get("reason"),
            digest=item.get("digest"), outputs=[str(o) for o in item.get("outputs", [])],
            sequencer=item.get("sequencer"), execution_arn=item.get("execution_arn"),
            rerun_as=item.get("rerun_as"), rerun_why=item.get("rerun_why"),
            rerun_at=item.get("rerun_at"),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _version(ref: ObjectRef) -> str:
    return ref.version_id or "null"


def _item_key(ref: ObjectRef) -> dict[str, str]:
    return {"object": f"{ref.bucket}/{ref.key}", "version_id": _version(ref)}


class Ledger:
    """The ledger table of one deployment."""

    def __init__(self, table_name: str, session: boto3.session.Session | None = None):
        self.table_name = table_name
        self._ddb = client("dynamodb", session)

    def receive(self, ref: ObjectRef, execution_arn: str | None = None) -> bool:
        """Record a new object version; False when it was already recorded (a duplicate)."""
        item = {
            "object": {"S": f"{ref.bucket}/{ref.key}"}, "version_id": {"S": _version(ref)},
            "bucket": {"S": ref.bucket}, "key": {"S": ref.key}, "size": {"N": str(ref.size)},
            "state": {"S": RECEIVED}, "run_id": {"S": ref.run_id},
            "received_at": {"S": ref.received_at or _now()}, "updated_at": {"S": _now()},
        }
        if ref.dataset:
            item["dataset"] = {"S": ref.dataset}
        if ref.sequencer:
            item["sequencer"] = {"S": ref.sequencer}
        if execution_arn:
            item["execution_arn"] = {"S": execution_arn}
        try:
            self._ddb.put_item(TableName=self.table_name, Item=item,
                               ConditionExpression="attribute_not_exists(#o)",
                               ExpressionAttributeNames={"#o": "object"})
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def advance(self, ref: ObjectRef, state: str, *, dataset: str | None = None,
                reason: str | None = None, digest: str | None = None,
                outputs: list[str] | None = None) -> None:
        """Move a record forward; repeating the state it is in is a no-op, anything else fails."""
        values: dict[str, Any] = {":s": {"S": state}, ":u": {"S": _now()},
                                  ":run": {"S": ref.run_id}}
        sets = ["#s = :s", "updated_at = :u", "run_id = :run",
                "#b = if_not_exists(#b, :b)", "#k = if_not_exists(#k, :k)",
                "received_at = if_not_exists(received_at, :u)"]
        values |= {":b": {"S": ref.bucket}, ":k": {"S": ref.key}}
        names = {"#s": "state", "#b": "bucket", "#k": "key"}
        for name, value in (("dataset", dataset or ref.dataset), ("reason", reason),
                            ("digest", digest)):
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": value}
        if outputs is not None:
            sets.append("outputs = :outputs")
            values[":outputs"] = {"L": [{"S": o} for o in outputs]}
        allowed = _PREDECESSORS[state]
        for i, prior in enumerate(allowed):
            values[f":p{i}"] = {"S": prior}
        condition = ("attribute_not_exists(#s) OR #s IN ("
                     + ", ".join(f":p{i}" for i in range(len(allowed))) + ")")
        try:
            self._ddb.update_item(TableName=self.table_name, Key=self._key(ref),
                                  UpdateExpression="SET " + ", ".join(sets),
                                  ConditionExpression=condition,
                                  ExpressionAttributeNames=names,
                                  ExpressionAttributeValues=values)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get(ref)
            if current is not None and current.state == state:
                return
            raise LedgerConflict(
                f"ledger: s3://{ref.bucket}/{ref.key} version {_version(ref)} is "
                f"{current.state if current else 'missing'}; it cannot become {state}"
            ) from err

    def restore(self, entry: LedgerEntry) -> None:
        """Write an entry as it was saved (a persistent local lake coming back up)."""
        item: dict[str, Any] = {"object": {"S": f"{entry.bucket}/{entry.key}"},
                                "size": {"N": str(entry.size)}}
        for name, value in entry.to_json().items():
            if name == "size" or value is None:
                continue
            item[name] = ({"L": [{"S": str(v)} for v in value]} if isinstance(value, list)
                          else {"S": str(value)})
        self._ddb.put_item(TableName=self.table_name, Item=item)

    def link_rerun(self, bucket: str, key: str, version_id: str, new_version_id: str,
                   why: str) -> None:
        """Record on a final entry the version that re-ran it (its state stays as it was)."""
        self._ddb.update_item(
            TableName=self.table_name,
            Key={"object": {"S": f"{bucket}/{key}"}, "version_id": {"S": version_id}},
            UpdateExpression="SET rerun_as = :n, rerun_why = :w, rerun_at = :t",
            ConditionExpression="#s IN (:p, :q)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":n": {"S": new_version_id}, ":w": {"S": why},
                                       ":t": {"S": _now()}, ":p": {"S": PUBLISHED},
                                       ":q": {"S": QUARANTINED}})

    def _later_versions(self, ref: ObjectRef) -> list[dict[str, Any]]:
        """Items of versions of the same key written after this one (S3's ``sequencer``).

        S3 orders writes to one key by the events' sequencer; an older version whose
        execution finishes last must not replace the newer one's rows.
        """
        if not ref.sequencer:
            return []
        pages = self._ddb.get_paginator("query").paginate(
            TableName=self.table_name, ConsistentRead=True,
            KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "object"},
            ExpressionAttributeValues={":o": {"S": f"{ref.bucket}/{ref.key}"}})
        return [item for page in pages for item in page["Items"]
                if item.get("sequencer", {}).get("S")
                and _later(item["sequencer"]["S"], ref.sequencer)]

    def newer_version(self, ref: ObjectRef, *, published_only: bool = False) -> str | None:
        """The id of a version of the same key written after this one, if any.

        With ``published_only``, only a later version already published counts: a later
        version that is still running may yet be quarantined, and a quarantined one never
        supersedes anything.
        """
        for item in self._later_versions(ref):
            if not published_only or item.get("state", {}).get("S") == PUBLISHED:
                return str(item["version_id"]["S"])
        return None

    def newer_runs(self, ref: ObjectRef) -> list[str]:
        """Runs of later versions of the same key that are not quarantined."""
        return [str(item["run_id"]["S"]) for item in self._later_versions(ref)
                if item.get("state", {}).get("S") != QUARANTINED]

    def published_with_digest(self, digest: str) -> list[LedgerEntry]:
        """Published versions, of any key, whose raw bytes have this sha256."""
        pages = self._ddb.get_paginator("query").paginate(
            TableName=self.table_name, IndexName=DIGEST_INDEX,
            KeyConditionExpression="digest = :d", ExpressionAttributeValues={":d": {"S": digest}})
        found = [LedgerEntry.from_item(_plain(item)) for page in pages for item in page["Items"]]
        return [e for e in found if e.state == PUBLISHED]

    def is_current(self, entry: LedgerEntry) -> bool:
        """Whether ``entry`` is the newest published version of its key and holds rows."""
        if not entry.outputs:  # superseded before it committed: its rows were never shown
            return False
        ref = ObjectRef(bucket=entry.bucket, key=entry.key, version_id=entry.version_id,
                        size=entry.size, dataset=entry.dataset, run_id=entry.run_id,
                        sequencer=entry.sequencer)
        return self.newer_version(ref, published_only=True) is None

    def get(self, ref: ObjectRef) -> LedgerEntry | None:
        """The record of one object version."""
        item = self._ddb.get_item(TableName=self.table_name, Key=self._key(ref),
                                  ConsistentRead=True).get("Item")
        return None if item is None else LedgerEntry.from_item(_plain(item))

    def entries(self) -> list[LedgerEntry]:
        """Every record, oldest first."""
        pages = self._ddb.get_paginator("scan").paginate(TableName=self.table_name,
                                                         ConsistentRead=True)
        found = [LedgerEntry.from_item(_plain(item)) for page in pages for item in page["Items"]]
        return sorted(found, key=lambda e: (e.received_at or "", e.key, e.version_id))

    @staticmethod
    def _key(ref: ObjectRef) -> dict[str, dict[str, str]]:
        return {name: {"S": value} for name, value in _item_key(ref).items()}


def _later(a: str, b: str) -> bool:
    """Whether sequencer ``a`` is after ``b`` (S3: right-pad the shorter with zeros)."""
    width = max(len(a), len(b))
    return a.upper().ljust(width, "0") > b.upper().ljust(width, "0")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values -> plain Python values (the types the ledger writes)."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        kind, inner = next(iter(value.items()))
        out[name] = ([v["S"] for v in inner] if kind == "L" else int(inner) if kind == "N"
                     else inner)
    return out
