"""Run-time settings: one place for every environment variable name and default.

Settings resolve as explicit argument, then environment variable, then default. The CDK
stacks set the same variables on the Lambda functions (see ``stacks/processing.py``),
so the names below are the contract between infrastructure and code.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from lakeguard.exceptions import LakeguardError

ENV_RAW_BUCKET = "LAKEGUARD_RAW_BUCKET"
ENV_CLEAN_BUCKET = "LAKEGUARD_CLEAN_BUCKET"
ENV_REFINED_BUCKET = "LAKEGUARD_REFINED_BUCKET"
ENV_QUARANTINE_BUCKET = "LAKEGUARD_QUARANTINE_BUCKET"
ENV_ARTEFACTS_BUCKET = "LAKEGUARD_ARTEFACTS_BUCKET"
ENV_GLUE_DATABASE = "LAKEGUARD_GLUE_DATABASE"
ENV_CLEAN_DATABASE = "LAKEGUARD_CLEAN_DATABASE"
ENV_LEDGER_TABLE = "LAKEGUARD_LEDGER_TABLE"
ENV_STATE_MACHINE_ARN = "LAKEGUARD_STATE_MACHINE_ARN"
ENV_LAMBDA_MAX_BYTES = "LAKEGUARD_LAMBDA_MAX_BYTES"
ENV_ATHENA_WORKGROUP = "LAKEGUARD_ATHENA_WORKGROUP"
ENV_PSEUDONYM_SECRET = "LAKEGUARD_PSEUDONYM_SECRET_ARN"
#: A fixed pseudonymisation key for the embedded lake (reproducible, linkable local runs).
ENV_LOCAL_PSEUDONYM_KEY = "LAKEGUARD_LOCAL_PSEUDONYM_KEY"
ENV_AWS_ENDPOINT = "AWS_ENDPOINT_URL"
#: Faults planned at the stages' seams, on the embedded AWS only (``lakeguard.pipeline.seams``).
ENV_FAULTS = "LAKEGUARD_FAULTS"

#: CDK context keys the embedded lake synthesizes with (``lakeguard.local``), read by the
#: stacks: the functions' CPU architecture, and building the layer for the machine itself
#: where Linux wheels cannot load (macOS).
CONTEXT_ARCHITECTURE = "lakeguard:lambda_architecture"
CONTEXT_NATIVE_LAYER = "lakeguard:native_layer"

#: CloudWatch namespaces, one per kind of metric. The stages' counts and outcomes (EMF on
#: stdout, which the quarantine alarm watches) and the models' health (PutMetricData, which
#: the IAM policy allows to this one namespace only) are kept apart on purpose; both are
#: named here so that no module keeps a same-named constant with another value.
PIPELINE_METRICS_NAMESPACE = "lakeguard"
MODEL_METRICS_NAMESPACE = "lakeguard/models"

#: Objects up to this size are anonymised by the Lambda path; larger ones by Glue Spark.
DEFAULT_LAMBDA_MAX_BYTES = 256 * 1024 * 1024

#: Prefix under the clean and refined buckets where a stage hands its rows to the next one;
#: only Publish turns them into table commits, and then deletes them.
STAGING_PREFIX = "_staging"


#: Region prefixes of the partitions other than the commercial one (``aws``).
_PARTITIONS = {"cn-": "aws-cn", "us-gov-": "aws-us-gov", "us-iso-": "aws-iso",
               "us-isob-": "aws-iso-b", "eu-isoe-": "aws-iso-e", "us-isof-": "aws-iso-f"}


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (``aws`` for every commercial region)."""
    return next((p for prefix, p in _PARTITIONS.items() if region.startswith(prefix)), "aws")


def host_architecture() -> str:
    """This machine's CPU in Lambda's terms (``x86_64`` or ``arm64``)."""
    return "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"


class SettingsError(LakeguardError):
    """A required setting is missing from the environment."""


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(
            f"environment variable {name} is not set: the CDK stack sets it on every "
            "function; locally, `lakeguard local` sets it from the deployed stack outputs"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """Bucket and catalog names a pipeline stage works with."""

    raw_bucket: str
    clean_bucket: str
    refined_bucket: str
    quarantine_bucket: str
    artefacts_bucket: str
    glue_database: str
    ledger_table: str
    clean_database: str
    lambda_max_bytes: int = DEFAULT_LAMBDA_MAX_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings the stack put into the function's environment."""
        max_bytes = os.environ.get(ENV_LAMBDA_MAX_BYTES)
        return cls(
            raw_bucket=_require(ENV_RAW_BUCKET),
            clean_bucket=_require(ENV_CLEAN_BUCKET),
            refined_bucket=_require(ENV_REFINED_BUCKET),
            quarantine_bucket=_require(ENV_QUARANTINE_BUCKET),
            artefacts_bucket=_require(ENV_ARTEFACTS_BUCKET),
            glue_database=_require(ENV_GLUE_DATABASE),
            ledger_table=_require(ENV_LEDGER_TABLE),
            clean_database=_require(ENV_CLEAN_DATABASE),
            lambda_max_bytes=DEFAULT_LAMBDA_MAX_BYTES if max_bytes is None else int(max_bytes),
        )

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Settings:
        """Read the settings from the deployed stacks' outputs (see ``stacks/``)."""
        try:
            return cls(
                raw_bucket=outputs["RawBucketName"], clean_bucket=outputs["CleanBucketName"],
                refined_bucket=outputs["RefinedBucketName"],
                quarantine_bucket=outputs["QuarantineBucketName"],
                artefacts_bucket=outputs["ArtefactsBucketName"],
                glue_database=outputs["GlueDatabaseName"],
                ledger_table=outputs["LedgerTableName"],
                clean_database=outputs["CleanDatabaseName"],
            )
        except KeyError as err:
            raise SettingsError(f"the deployed stacks have no output {err}: deploy the current "
                                "stacks (cdk deploy --all)") from err

#: Entities the model stages handle at once (CheckModel's and Score's champion look-ups,
#: Train's fits and registrations): each entity's registry work is a few small S3 requests
#: on keys of its own that mostly wait on the network, one entity after another otherwise.
MODEL_ENTITY_THREADS = 8

#: Iceberg files up to this size are read and written in one S3 request each
#: (:mod:`lakeguard.tables.fileio`); larger ones go through pyarrow's ranged reads and
#: multipart uploads. Also the most a file write holds in memory before it streams.
ICEBERG_SINGLE_REQUEST_BYTES = 8 * 1024 * 1024
#: Bytes of Iceberg metadata files (written once, never changed) a process remembers.
ICEBERG_METADATA_MEMO_BYTES = 32 * 1024 * 1024

#: Compaction (:mod:`lakeguard.tables.compaction`): a data file under this size is small; a
#: partition is rewritten once it holds this many small files (Iceberg's own
#: ``min-input-files`` default); one run rewrites at most this many bytes of input, so that
#: it fits the compaction function's memory and time (the rest waits for the next run).
COMPACTION_SMALL_FILE_BYTES = 32 * 1024 * 1024
COMPACTION_MIN_FILES = 5
COMPACTION_MAX_BYTES_PER_RUN = 256 * 1024 * 1024

#: Where ``lakeguard local up`` keeps a persistent embedded lake's state (relative to the
#: working folder): lake.json, its log, its pseudonymisation key and the saved lake.
LOCAL_STATE_DIR = ".lakeguard"
