"""Runs held in order (``lakeguard.local.ordering``): the hooks alone, on threads, no AWS.

GIVEN runs added in an order, WHEN their executions reach the held stages in any order,
THEN each passes only after every run added before it has ended.
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeguard.exceptions import LocalRuntimeError
from lakeguard.local.ordering import InOrder, stage_of

CHECK, PUBLISH, CLEAN = "lambdas.check_model.handler", "lambdas.publish.handler", \
    "lambdas.clean.handler"


def _add(order: InOrder, *runs: str) -> None:
    for run in runs:
        with order.adding() as add:
            add(run)


def _thread(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


@settings(max_examples=20, deadline=None)
@given(arrival=st.permutations(range(5)), quarantined=st.sets(st.integers(0, 4)))
def test_runs_pass_the_held_stages_in_the_order_they_were_added(arrival, quarantined):
    order = InOrder(timeout=10)
    runs = [f"run-{i}" for i in range(5)]
    _add(order, *runs)
    passed: list[str] = []

    def execution(run: str) -> None:
        order.before_invoke(CHECK, {"run_id": run})
        passed.append(run)
        order.before_invoke(PUBLISH, {"run_id": run})
        final = "lambdas.quarantine.handler" if runs.index(run) in quarantined else PUBLISH
        order.after_invoke(final, {"run_id": run}, {"result": {}})

    threads = []
    for index in arrival:  # executions reach the models in any order
        threads.append(_thread(execution, runs[index]))
        time.sleep(0.005)
    for thread in threads:
        thread.join(10)
    assert passed == runs


_WAITING: list[threading.Thread] = []


def _blocked(order: InOrder, handler: str, run: str) -> bool:
    """Whether ``run`` waits at ``handler`` (still waiting after a moment)."""
    thread = _thread(order.before_invoke, handler, {"run_id": run})
    thread.join(0.3)
    _WAITING.append(thread)
    return thread.is_alive()


@pytest.fixture
def order():
    """An order whose runs all end after the test, so no thread is left waiting."""
    order = InOrder(timeout=5)
    yield order
    for run in ("first", "second"):
        order.ended(run)
    while _WAITING:
        _WAITING.pop().join(5)


def test_only_held_stages_of_runs_in_the_order_wait(order):
    _add(order, "first", "second")
    assert _blocked(order, CHECK, "second") and _blocked(order, PUBLISH, "second")
    assert not _blocked(order, CLEAN, "second")  # stages before the models run meanwhile
    assert not _blocked(order, CHECK, "someone-else")  # another producer's drop
    assert not _blocked(order, CHECK, "first")


def test_a_failed_publish_does_not_end_a_run_but_its_caller_seeing_the_end_does(order):
    _add(order, "first", "second")
    order.after_invoke(PUBLISH, {"run_id": "first"}, {"errorType": "TransientError"})
    assert _blocked(order, CHECK, "second")
    order.ended("first")
    assert not _blocked(order, CHECK, "second")


def test_a_run_being_added_is_held_until_it_is_known(order):
    _add(order, "first")
    with order.adding() as add:  # the object is being put: its run id is not known yet
        assert _blocked(order, CHECK, "second")
        add("second")
    assert _blocked(order, CHECK, "second")  # now known, behind "first"
    order.ended("first")
    assert not _blocked(order, CHECK, "second")


def test_a_run_held_too_long_fails_naming_the_run_it_waited_for():
    order = InOrder(timeout=0.2)
    _add(order, "first", "second")
    with pytest.raises(LocalRuntimeError, match="waited 0 s at check_model for run first"):
        order.before_invoke(CHECK, {"run_id": "second"})


def test_a_stage_is_named_by_its_handler():
    assert stage_of("lambdas.check_model.handler") == "check_model"
    assert stage_of("app.main") == "app.main"
