"""Quality gate: clean data must pass the contract's rules before anything is refined.

It is also where a file is weighed against the rest of the lake: a copy of a published
file, or rows another file already published (:mod:`lakeguard.pipeline.duplicates`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.contracts.model import Contract, QualityRule
from lakeguard.exceptions import NaturalKeyConflict, QualityGateFailed, ValidationFailed
from lakeguard.pipeline.duplicates import (
    check_not_a_copy,
    find_conflicts,
    published_keys,
    refuse_conflicts,
    skip_rows,
    skip_rows_on_branch,
)
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.ledger import Ledger
from lakeguard.pipeline.state import Clean, NaturalKeyOutcome, Quality, dataset_of
from lakeguard.s3io import read_parquet
from lakeguard.tables import CLEAN, load_table, run_tables
from lakeguard.tables.branches import branch_rows

if TYPE_CHECKING:
    import boto3


def check_rule(table: pa.Table, rule: QualityRule) -> str | None:
    """Return why ``table`` breaks ``rule``, or ``None`` when it passes."""
    if rule.rule == "min_rows":
        # ``min = 0`` is a bound the contract wrote (an empty object is fine), not "unset"
        minimum = 1 if rule.min is None else int(rule.min)
        return None if table.num_rows >= minimum else f"{table.num_rows} rows < {minimum}"
    if rule.rule == "not_null":
        nulls = {c: table[c].null_count for c in rule.columns if table[c].null_count}
        return None if not nulls else f"null values in {nulls}"
    if rule.rule == "range":
        problems = []
        for name in rule.columns:
            low, high = pc.min_max(table[name]).values()
            if low.is_valid and rule.min is not None and low.as_py() < rule.min:
                problems.append(f"{name} min {low.as_py()} < {rule.min}")
            if high.is_valid and rule.max is not None and high.as_py() > rule.max:
                problems.append(f"{name} max {high.as_py()} > {rule.max}")
        return "; ".join(problems) or None
    distinct = table.group_by(list(rule.columns)).aggregate([]).num_rows
    duplicates = table.num_rows - distinct
    return None if duplicates == 0 else f"{duplicates} duplicated {list(rule.columns)} rows"


def clean_rows(state: dict[str, Any], contract: Contract, settings: Settings,
               session: boto3.session.Session | None) -> pa.Table:
    """The run's clean rows: staged Parquet (Lambda Clean) or the clean table's branch (Glue)."""
    cleaned = Clean.read(state)
    if not cleaned.branch:
        return read_parquet(cleaned.outputs, session)
    table = load_table(settings, CLEAN, run_tables(contract)[0].name)
    rows = branch_rows(table, ObjectRef.from_state(state).run_id)
    if rows is None:
        raise ValidationFailed(f"the anonymise job's branch {cleaned.branch} is not on "
                               f"{'.'.join(table.name())}: see its Glue run logs")
    return rows


def quality(
    state: dict[str, Any], settings: Settings, session: boto3.session.Session | None = None
) -> Quality:
    """Run every rule; fail naming each broken rule, pass with the list of checks made."""
    contract = load_contract(dataset_of(state))
    check_not_a_copy(ObjectRef.from_state(state), Clean.read(state).input_sha256,
                     Ledger(settings.ledger_table, session))
    table = clean_rows(state, contract, settings, session)
    checks = []
    failures = []
    for rule in contract.quality:
        problem = check_rule(table, rule)
        label = f"{rule.rule}({', '.join(rule.columns)})"
        checks.append({"rule": label, "passed": problem is None})
        if problem:
            failures.append(f"{label}: {problem}")
    if failures:
        raise QualityGateFailed(
            f"clean data of s3://{state['bucket']}/{state['key']} breaks quality rules of "
            f"{contract.path}: {' | '.join(failures)}"
        )
    if contract.natural_key is None:
        return Quality(passed=True, checks=checks, rows=table.num_rows)
    duplicates = _across_objects(state, contract, table, settings, session)
    return Quality(passed=True, checks=checks, rows=table.num_rows - duplicates.rows_skipped,
                   duplicates=duplicates)


def _across_objects(state: dict[str, Any], contract: Contract, table: pa.Table,
                    settings: Settings, session: boto3.session.Session | None
                    ) -> NaturalKeyOutcome:
    """Apply the natural key against the published clean table (see :mod:`.duplicates`)."""
    key = contract.natural_key
    assert key is not None
    ref = ObjectRef.from_state(state)
    clean_table = load_table(settings, CLEAN, run_tables(contract)[0].name)
    conflicts = find_conflicts(table, published_keys(clean_table, table, key, ref.key_id), key)
    refuse_conflicts(conflicts, contract, ref)
    found = NaturalKeyOutcome(natural_key=list(key.columns), on_conflict=key.on_conflict,
                              sources=list(conflicts.sources))
    if key.on_conflict == "replace":  # Publish replaces them, against the table it commits to
        return replace(found, rows_replaced=conflicts.rows)
    if conflicts.rows == table.num_rows:
        raise NaturalKeyConflict(f"s3://{ref.bucket}/{ref.key}: every row repeats a "
                                 f"({', '.join(key.columns)}) already published from other raw "
                                 "objects: nothing new to publish")
    cleaned = Clean.read(state)
    if not conflicts.rows:
        skipped = 0
    elif cleaned.branch:
        skipped = skip_rows_on_branch(clean_table, key, ref)
    else:
        skipped = skip_rows(cleaned.outputs, key, clean_table, ref.key_id, session)
    return replace(found, rows_skipped=skipped)
