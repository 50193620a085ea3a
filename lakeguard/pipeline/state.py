"""What each stage adds to the execution's state document, as typed results.

Step Functions hands one JSON document from stage to stage; each task writes its result
under its own ``ResultPath`` (``$.validation``, ``$.clean``...). Each class below is one
of those results: the stage returns it, :func:`lakeguard.pipeline.handler.stage_handler`
serialises it with ``to_json``, and a later stage reads it back with ``read``. The
state machine definition (``statemachines/definition.py``) takes its ResultPaths from
``PATH`` here, and a test checks that every ``$.<result>.<field>`` the ASL reads is a field
of these classes, so a renamed field cannot silently leave a Choice reading nothing.

Counts and names only: a result never carries a data value (it reaches the execution
history, logs and the quarantine report).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal, Self, get_args, get_origin, get_type_hints

from lakeguard.ml.training_plan import TrainedVersion, TrainRequest


def _decode(hint: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as ``hint``: nested results become their classes again."""
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in get_args(hint) if a is not type(None)]
        return _decode(kinds[0], value) if len(kinds) == 1 else value
    if origin is list:
        (item,) = get_args(hint)
        return [_decode(item, v) for v in value]
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _from_json(hint, value, hint.__name__)
    return value


def _from_json(cls: type[Any], doc: dict[str, Any], where: str) -> Any:
    if not isinstance(doc, dict):
        raise TypeError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise TypeError(f"{where}: unknown fields {unknown}; the stage that wrote it and "
                        f"{cls.__module__}.{cls.__name__} disagree (deploy both together)")
    return cls(**{name: _decode(hints[name], value) for name, value in doc.items()})


class StageResult:
    """A result a task writes at ``$.<PATH>``: one serialisation, read back the same way."""

    #: The ``ResultPath`` of the task(s) returning this result, without ``$.``.
    PATH: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """The result as the state machine stores it (plain JSON types)."""
        doc: dict[str, Any] = asdict(self)  # type: ignore[call-overload]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Self:
        """Parse a stored result; unknown fields are refused (a stage and its reader disagree)."""
        parsed: Self = _from_json(cls, doc, f"$.{cls.PATH}")
        return parsed

    @classmethod
    def read(cls, state: dict[str, Any]) -> Self:
        """This result from an execution's state, which must hold it."""
        found = cls.find(state)
        if found is None:
            raise KeyError(f"the execution state has no $.{cls.PATH}: the stage writing it "
                           "has not run before this one (see statemachines/definition.py)")
        return found

    @classmethod
    def find(cls, state: dict[str, Any]) -> Self | None:
        """This result from an execution's state, or ``None`` when its stage has not run."""
        doc = state.get(cls.PATH)
        return None if doc is None else cls.from_json(doc)

    @classmethod
    def salvage(cls, state: dict[str, Any]) -> tuple[Self | None, str | None]:
        """This result if it parses, else ``None`` and why: for the stage that must not fail.

        Quarantine reads earlier results only to enrich its report; a result it cannot
        parse (a stage and Quarantine from different deploys) must not stop it from keeping
        the object. The reason names the path and fields only, never a value.
        """
        try:
            return cls.find(state), None
        except (TypeError, ValueError) as err:
            return None, str(err) if isinstance(err, TypeError) else f"$.{cls.PATH}: unreadable"


@dataclass(frozen=True)
class Validation(StageResult):
    """Validate: the object's contract, and which engine cleans it."""

    PATH: ClassVar[str] = "validation"
    dataset: str
    contract_version: str
    contract_digest: str
    size: int
    route: Literal["lambda", "glue"]
    has_model: bool


@dataclass(frozen=True)
class Clean(StageResult):
    """Clean (Lambda) or CleanReport (after the Glue anonymise job): the same result.

    The Lambda path stages Parquet objects (``outputs``); the Glue path writes the run's
    branch of the clean table (``branch``) and stages nothing.
    """

    PATH: ClassVar[str] = "clean"
    rows_in: int
    rows_out: int
    rows_rejected: int
    rows_suppressed: int
    rows_warned: int
    input_sha256: str
    key_version: str | None = None
    k_required: int | None = None
    k_achieved: int | None = None
    #: What k counts: ``people`` (distinct subjects) or ``rows``.
    k_counted_in: str | None = None
    l_required: int | None = None
    l_achieved: int | None = None
    quasi_identifiers: list[str] = field(default_factory=list)
    sensitive: str | None = None
    #: Up to 20 rejected values' places and reasons (row, column, reason, rule): no value.
    rejects: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)
    branch: str | None = None


@dataclass(frozen=True)
class GlueJobRun(StageResult):
    """What a ``glue:startJobRun.sync`` task keeps of the job run (its ResultSelector)."""

    #: The Glue API's own names, as the ResultSelector keeps them.
    JobRunId: str
    JobRunState: str


@dataclass(frozen=True)
class CleanJobRun(GlueJobRun):
    """The Glue anonymise job's run (CleanLarge); CleanReport then writes ``$.clean``."""

    PATH: ClassVar[str] = "clean_job"


@dataclass(frozen=True)
class RefineJobRun(GlueJobRun):
    """The Glue refine job's run (RefineLarge): the rows are on the run's branches."""

    PATH: ClassVar[str] = "refine_job"


@dataclass(frozen=True)
class Refine(StageResult):
    """Refine (Lambda path): the rows of each refined table, staged as Parquet."""

    PATH: ClassVar[str] = "refine"
    #: Rows derived per refined table.
    rows: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NaturalKeyOutcome:
    """What the natural key found against rows other raw objects published."""

    natural_key: list[str]
    on_conflict: str
    #: ``source_key_id`` of each raw object whose facts this one repeats.
    sources: list[str]
    rows_skipped: int = 0
    rows_replaced: int = 0


@dataclass(frozen=True)
class Quality(StageResult):
    """QualityGate: the rules checked, and the rows that go on to Refine."""

    PATH: ClassVar[str] = "quality"
    passed: bool
    checks: list[dict[str, Any]]
    rows: int
    duplicates: NaturalKeyOutcome | None = None


@dataclass(frozen=True)
class ModelCheck(StageResult):
    """CheckModel: which entities to train; each champion's drift figures."""

    PATH: ClassVar[str] = "model_check"
    needs_training: bool
    train: list[TrainRequest]
    drift: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Train(StageResult):
    """Train (and the scheduled Retrain): the versions fitted."""

    PATH: ClassVar[str] = "train"
    trained: list[TrainedVersion]
    skipped_short_history: list[str]


@dataclass(frozen=True)
class Score(StageResult):
    """Score: this run's points scored by each entity's champion, staged for Publish."""

    PATH: ClassVar[str] = "score"
    rows: int
    anomalies: int
    alerts: int
    unscored_entities: list[str]
    outputs: list[str]


@dataclass(frozen=True)
class Publish(StageResult):
    """Publish: the snapshot committed per table, or the newer version that superseded it.

    Where k is counted over the published table, Publish's count replaces Clean's
    (``rows_out`` ... ``classes``).
    """

    PATH: ClassVar[str] = "publish"
    snapshots: dict[str, str]
    tables: int = 0
    published_at: str | None = None
    superseded_by: str | None = None
    rows_out: int | None = None
    rows_suppressed: int | None = None
    k_required: int | None = None
    k_achieved: int | None = None
    k_counted_in: str | None = None
    l_required: int | None = None
    l_achieved: int | None = None
    classes: int | None = None


@dataclass(frozen=True)
class Quarantine(StageResult):
    """Quarantine: where the report is, the error's type and the stage that failed."""

    PATH: ClassVar[str] = "quarantine"
    report: str
    reason: str
    failed_stage: str
    #: Table key -> snapshot of the revert, when Publish had committed some tables.
    reverted: dict[str, str] = field(default_factory=dict)


#: Every result by its path, in the order a run writes them.
RESULTS: dict[str, type[StageResult]] = {
    cls.PATH: cls for cls in (Validation, CleanJobRun, Clean, Quality, RefineJobRun, Refine,
                              ModelCheck, Train, Score, Publish, Quarantine)
}


def dataset_of(state: dict[str, Any]) -> str:
    """The contract's name: Validate's routing is what every later stage works under."""
    return Validation.read(state).dataset
