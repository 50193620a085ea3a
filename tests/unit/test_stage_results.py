"""The stages' typed results and the state machine that carries them.

Each task writes its stage's result at ``$.<PATH>`` and later states read fields of it
(a Choice's ``Variable``, a Glue task's arguments, a notification). These tests hold the
three together: the ASL file is the generated definition, every task's ResultPath is the
path of the result its stage returns, and every ``$.<result>.<field>`` the ASL reads is a
field of that result. Renaming a field, or returning another type, fails here rather
than in a deployed execution.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from typing import Any

import pytest

from lakeguard.ml.training_plan import TrainedVersion, TrainRequest
from lakeguard.pipeline.state import (
    RESULTS,
    Clean,
    ModelCheck,
    NaturalKeyOutcome,
    Quality,
    Train,
    Validation,
)
from statemachines.definition import ASL_PATH, LAMBDA_TASKS, definition, render

ASL = json.loads(ASL_PATH.read_text(encoding="utf-8"))
#: ``$.<result>.<field>`` anywhere in a state (a path, or inside States.Format).
_FIELD_READ = re.compile(r"\$\.([a-z_]+)\.([A-Za-z_]+)")


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_the_shipped_asl_file_is_the_generated_definition():
    assert ASL_PATH.read_text(encoding="utf-8") == render(), \
        "statemachines/pipeline.asl.json is stale: run `make asl`"


def test_every_task_writes_its_result_at_the_path_of_a_typed_result():
    for name, state in ASL["States"].items():
        if state["Type"] != "Task" or state.get("ResultPath") is None:
            continue
        path = state["ResultPath"].removeprefix("$.")
        assert path in RESULTS, f"{name} writes $.{path}, which no result in state.py names"


def test_every_lambda_task_returns_the_type_its_result_path_holds():
    tasks = {n: s for n, s in ASL["States"].items()
             if s["Type"] == "Task" and s["Resource"].endswith("FunctionArn}")}
    assert set(tasks) == set(LAMBDA_TASKS)
    for name, (stage, result) in LAMBDA_TASKS.items():
        handler_module = importlib.import_module(f"lambdas.{stage}")
        function = getattr(handler_module, stage)  # what lambdas/<stage>.py wraps
        returns = eval(function.__annotations__["return"], function.__globals__)
        assert returns is result, f"{name}: lambdas/{stage}.py returns {returns}, not {result}"
        assert tasks[name]["ResultPath"] == f"$.{result.PATH}"


def test_every_field_the_asl_reads_is_a_field_of_that_result():
    reads = {(path, name) for state in ASL["States"].values() for text in _strings(state)
             for path, name in _FIELD_READ.findall(text) if path in RESULTS}
    assert ("validation", "route") in reads and ("model_check", "needs_training") in reads
    for path, name in sorted(reads):
        fields = {f.name for f in dataclasses.fields(RESULTS[path])}  # type: ignore[arg-type]
        assert name in fields, f"the ASL reads $.{path}.{name}; {RESULTS[path].__name__} has no {name}"


def test_the_asl_reads_fields_the_check_can_see():
    """The field check above would fail on a renamed field (it is not vacuous)."""
    renamed = json.dumps(definition()).replace("$.validation.route", "$.validation.engine")
    reads = {(p, n) for p, n in _FIELD_READ.findall(renamed) if p in RESULTS}
    assert ("validation", "engine") in reads
    assert "engine" not in {f.name for f in dataclasses.fields(Validation)}


def test_every_lambda_task_retries_and_quarantines_with_the_one_policy():
    from statemachines.definition import LAMBDA_RETRY

    for name in LAMBDA_TASKS:
        state = ASL["States"][name]
        assert state["Retry"] == LAMBDA_RETRY, name
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name


RESULT_SAMPLES = [
    Validation("matches", "1", "ab" * 32, 100, "lambda", True),
    Clean(rows_in=3, rows_out=2, rows_rejected=1, rows_suppressed=0, rows_warned=0,
          input_sha256="0" * 64, rejects=[{"row": 2, "column": "date", "reason": "not a date",
                                           "rule": "type"}], outputs=["s3://b/k"]),
    Quality(passed=True, checks=[{"rule": "min_rows()", "passed": True}], rows=2,
            duplicates=NaturalKeyOutcome(["date"], "skip", ["abc"], rows_skipped=1)),
    ModelCheck(needs_training=True, train=[TrainRequest("OM", "drift", ["psi"])], drift={}),
    Train(trained=[TrainedVersion("OM", "v1", "champion")], skipped_short_history=[]),
]


@pytest.mark.parametrize("result", RESULT_SAMPLES, ids=lambda r: type(r).__name__)
def test_a_result_reads_back_as_written_through_json(result):
    stored = json.loads(json.dumps(result.to_json()))
    assert type(result).read({result.PATH: stored}) == result


def test_a_result_with_a_field_its_reader_does_not_know_is_refused_naming_it():
    with pytest.raises(TypeError, match=r"\$\.validation: unknown fields \['engine'\]"):
        Validation.from_json({**RESULT_SAMPLES[0].to_json(), "engine": "glue"})


def test_reading_a_result_whose_stage_has_not_run_names_the_path():
    with pytest.raises(KeyError, match=r"\$\.model_check"):
        ModelCheck.read({"validation": RESULT_SAMPLES[0].to_json()})
    assert ModelCheck.find({}) is None
