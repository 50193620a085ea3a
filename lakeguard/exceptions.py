"""One base exception for the package, one subclass per failure mode.

Pipeline stages raise these; the state machine catches them by name (the Lambda error
type is the class name), so a rename here is a change of the ASL contract too.
"""

from __future__ import annotations


class LakeguardError(Exception):
    """Base of every error that lakeguard raises on purpose."""


class ContractError(LakeguardError):
    """A dataset contract is missing, malformed or inconsistent.

    The message names the contract file, the field and the fix.
    """


class RoutingError(LakeguardError):
    """A raw object lies under a prefix that no dataset contract claims."""


class ValidationFailed(LakeguardError):
    """A raw object breaks its contract (size, format, header, types)."""


class ScratchSpaceFull(LakeguardError):
    """The function's local scratch disk filled up: a capacity limit to raise, not a bad file.

    Kept apart from :class:`ValidationFailed` so the quarantine report tells operators
    (raise the limit, then re-drive with ``--reason ScratchSpaceFull``) from producers.
    """


class QualityGateFailed(LakeguardError):
    """Clean data breaks one of the contract's quality rules."""


class DuplicateUpload(LakeguardError):
    """A raw object holds the very bytes another key already published: not published twice."""


class NaturalKeyConflict(LakeguardError):
    """Rows whose natural key another raw object already published (the contract says reject)."""


class TransientError(LakeguardError):
    """A dependency failed in a way a retry can fix (throttling, a timeout).

    The state machine retries it with backoff and jitter before giving up; boto3's own
    retries come first, so seeing this means they were exhausted.
    """


class ModelError(LakeguardError):
    """A model cannot be trained, loaded or applied."""


class InsufficientHistory(ModelError):
    """An entity has too few points to fit a detector yet; it is skipped, not failed."""


class QueryError(LakeguardError):
    """An analyst query cannot be translated or answered."""


class SparkJobFailed(LakeguardError):
    """A Glue Spark job failed inside Spark; the message names the Java and Spark error class.

    The stack trace stays in the job run's logs: it is long, and Spark may quote a row.
    """


class LocalRuntimeError(LakeguardError):
    """The embedded AWS could not be started, deployed or driven."""


class BenchmarkError(LakeguardError):
    """A benchmark's inputs (labels, cost profiles, detector results) are missing or malformed.

    The message names the file, the field and the fix.
    """


class UsageError(LakeguardError):
    """The command line is wrong: an unknown dataset or entity, a value out of range.

    The CLI exits 2 for it, as for any argument error; the message lists what is valid.
    """


class SetupError(LakeguardError):
    """What a command needs from its environment is missing: a region, credentials, a stack.

    The CLI exits 3 for it; the message says which option or variable provides it.
    """
