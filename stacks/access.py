"""Who may touch which keys: the lake's access table, one entry per role.

The table is data so that a reviewer reads it in one screen and the tests check it:
only the ingest side (validate, quarantine) and the anonymisers (the clean function and
the Glue anonymise job) read raw; everything else sees clean, refined or artefacts only,
and within a bucket only the folders its stage reads or writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lakeguard.config import STAGING_PREFIX
from lakeguard.contracts import list_contracts, load_contract
from lakeguard.layout import AUDIT_FOLDER, MODELS_FOLDER
from lakeguard.tables.anomalies import ANOMALIES_TABLE
from stacks.policies import ScopedPolicy, arn

READ = ("s3:GetObject",)
#: Raw objects are read by version: the event names the version the producer wrote.
READ_VERSIONS = ("s3:GetObject", "s3:GetObjectVersion")
WRITE = ("s3:PutObject", "s3:AbortMultipartUpload")
DELETE = ("s3:DeleteObject",)
STAGING = f"{STAGING_PREFIX}/"

_ICEBERG_NAMED = ("Iceberg names each data file, manifest and metadata version itself under the "
                  "table's folder; a commit writes them and prunes old metadata versions")
_RUN_NAMED = ("a run writes under _staging/<execution name>/, a name made per raw object "
              "version at run time")


def bucket_name(name_prefix: str, zone: str) -> str:
    """Template of a zone bucket's name: fixed, so policies name it without stack exports."""
    return f"{name_prefix}-{zone}-<AWS::AccountId>-<AWS::Region>"


def bucket_arn(name_prefix: str, zone: str) -> str:
    """Template of a zone bucket's ARN."""
    return arn("s3", bucket_name(name_prefix, zone), regional=False)


@dataclass(frozen=True)
class ObjectGrant:
    """Some actions on the objects under some folders of one zone, and why keys vary there."""

    zone: str
    folders: tuple[str, ...]
    actions: tuple[str, ...]
    why: str

    @property
    def sid(self) -> str:
        """Statement id: ``ReadRaw``, ``WriteDeleteClean`` ..."""
        verbs = {"s3:GetObject": "Read", "s3:PutObject": "Write", "s3:DeleteObject": "Delete"}
        named = "".join(verbs[a] for a in self.actions if a in verbs)
        return named + "".join(part.title() for part in self.zone.split("-"))


@dataclass(frozen=True)
class LakeLayout:
    """The folders the contracts define in each zone."""

    raw_prefixes: tuple[str, ...]
    clean_folders: tuple[str, ...]
    refined_tables: tuple[str, ...]
    model_tables: tuple[str, ...]

    @classmethod
    def from_contracts(cls) -> LakeLayout:
        """Read every contract in ``datasets/``."""
        contracts = [load_contract(name) for name in list_contracts()]
        return cls(
            raw_prefixes=tuple(sorted({c.raw.prefix for c in contracts})),
            clean_folders=tuple(sorted(f"{c.name}/" for c in contracts)),
            refined_tables=tuple(sorted({ANOMALIES_TABLE, *(t.table for c in contracts
                                                           for t in c.refined)})),
            model_tables=tuple(sorted({c.model.table for c in contracts if c.model})),
        )


def stage_grants(layout: LakeLayout) -> dict[str, tuple[ObjectGrant, ...]]:
    """Objects each Lambda function (``lambdas/<name>.py``) reads, writes or deletes."""
    tables = tuple(f"{t}/" for t in layout.refined_tables)
    history = (STAGING, *(f"{t}/" for t in layout.model_tables))
    history_why = f"{_RUN_NAMED}; {_ICEBERG_NAMED}"
    models_why = "one folder per dataset and entity, one object per model version"
    raw_any_why = ("an object under no dataset's prefix must still be examined and moved to "
                   "quarantine with its reason, so no raw key can be excluded")
    return {
        "validate": (ObjectGrant("raw", ("",), READ_VERSIONS, raw_any_why),),
        "clean": (
            ObjectGrant("raw", layout.raw_prefixes, READ_VERSIONS,
                        "producers choose the file names they drop under a dataset's prefix"),
            ObjectGrant("clean", (STAGING,), WRITE, _RUN_NAMED),
        ),
        "clean_report": (ObjectGrant("clean", (STAGING,), READ, _RUN_NAMED),),
        "refine": (ObjectGrant("clean", (STAGING,), READ, _RUN_NAMED),
                   ObjectGrant("refined", (STAGING,), WRITE, _RUN_NAMED)),
        "quality": (
            ObjectGrant("clean", (STAGING, *layout.clean_folders), READ + WRITE,
                        f"{_RUN_NAMED}; reads the published natural keys and rewrites the "
                        f"run's branch without rows they hold, {_ICEBERG_NAMED}"),
        ),
        "check_model": (ObjectGrant("refined", history, READ, history_why),
                        ObjectGrant("artefacts", (MODELS_FOLDER,), READ, models_why)),
        "train": (ObjectGrant("refined", history, READ, history_why),
                  ObjectGrant("artefacts", (MODELS_FOLDER,), READ + WRITE, models_why)),
        "score": (ObjectGrant("refined", history, READ, history_why),
                  ObjectGrant("refined", (STAGING,), WRITE, _RUN_NAMED),
                  ObjectGrant("artefacts", (MODELS_FOLDER,), READ, models_why)),
        "publish": (
            ObjectGrant("clean", (STAGING,), READ + DELETE, _RUN_NAMED),
            ObjectGrant("clean", layout.clean_folders, READ + WRITE + DELETE, _ICEBERG_NAMED),
            ObjectGrant("refined", (STAGING,), READ + DELETE, _RUN_NAMED),
            ObjectGrant("refined", tables, READ + WRITE + DELETE, _ICEBERG_NAMED),
            ObjectGrant("artefacts", (AUDIT_FOLDER,), WRITE,
                        "one audit record per dataset and run"),
        ),
        "compact": (
            ObjectGrant("clean", layout.clean_folders, READ + WRITE + DELETE, _ICEBERG_NAMED),
            ObjectGrant("refined", tables, READ + WRITE + DELETE, _ICEBERG_NAMED),
        ),
        "quarantine": (
            ObjectGrant("raw", ("",), READ_VERSIONS, raw_any_why),
            ObjectGrant("quarantine", ("",), WRITE,
                        "quarantine mirrors the raw object's dataset and run, whatever its key"),
            ObjectGrant("clean", (STAGING,), DELETE, _RUN_NAMED),
            ObjectGrant("clean", layout.clean_folders, READ + WRITE + DELETE, _ICEBERG_NAMED),
            ObjectGrant("refined", (STAGING,), DELETE, _RUN_NAMED),
            ObjectGrant("refined", tables, READ + WRITE + DELETE, _ICEBERG_NAMED),
        ),
    }


def job_grants(layout: LakeLayout) -> dict[str, tuple[ObjectGrant, ...]]:
    """Objects each Glue job (``glue_jobs/<job>.py``) reads, writes or deletes.

    Spark commits by writing temporary objects and renaming (copy + delete) them, so a
    job may also read and delete what it writes. Both jobs write Iceberg themselves: the
    run's branch of its clean table, of each refined table (:mod:`lakeguard.glue.iceberg`).
    """
    return {
        "anonymise": (
            ObjectGrant("raw", layout.raw_prefixes, READ_VERSIONS,
                        "producers choose the file names they drop under a dataset's prefix"),
            ObjectGrant("clean", (STAGING, *layout.clean_folders), READ + WRITE + DELETE,
                        f"{_RUN_NAMED}; writes the run's branch, {_ICEBERG_NAMED}"),
        ),
        "refine": (
            ObjectGrant("clean", (STAGING, *layout.clean_folders), READ,
                        f"{_RUN_NAMED}; reads the anonymise job's branch, {_ICEBERG_NAMED}"),
            ObjectGrant("refined", tuple(f"{t}/" for t in layout.refined_tables
                                         if t != ANOMALIES_TABLE),
                        READ + WRITE + DELETE, f"writes the run's branch; {_ICEBERG_NAMED}"),
        ),
    }


def allow_objects(policy: ScopedPolicy, name_prefix: str, grants: Sequence[ObjectGrant], *,
                  list_raw_under: Sequence[str] = ()) -> None:
    """Write each grant as a statement, with listing of the buckets it touches.

    Listing is per bucket: S3 answers a read of a missing key with 403 rather than 404
    unless the caller may list, and the stages tell "not there yet" from "denied". Raw is
    listed only under the dataset prefixes (Spark lists its input path), since producers'
    file names are the one place a key may carry something personal.
    """
    for grant in grants:
        objects = [f"{bucket_arn(name_prefix, grant.zone)}/{folder}*" for folder in grant.folders]
        policy.allow(grant.sid, grant.actions, objects,
                     wildcard_reason=f"{grant.zone} keys vary: {grant.why}")
    listed = sorted({g.zone for g in grants} - {"raw"})
    if listed:
        policy.allow("ListZones", ["s3:ListBucket"],
                     [bucket_arn(name_prefix, zone) for zone in listed])
    if list_raw_under:
        policy.allow("ListRawDatasetPrefixes", ["s3:ListBucket"], [bucket_arn(name_prefix, "raw")],
                     conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in list_raw_under]}})
