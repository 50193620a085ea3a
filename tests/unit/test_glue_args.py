"""A Glue job started without an argument names the task that starts it.

The message used to blame "the Refine task" for every job, the anonymise job included,
which sent whoever read it to the wrong state of the pipeline.
"""

import pytest

from lakeguard.glue.args import JobArgumentError, resolve_args


def test_values_are_read_from_glue_style_argv():
    argv = ["script.py", "--dataset", "matches", "--JOB_ID", "j", "--output_uri", "s3://b/p"]
    assert resolve_args(argv, ["dataset", "output_uri"], task="Refine") == {
        "dataset": "matches", "output_uri": "s3://b/p"}


@pytest.mark.parametrize("task", ["CleanLarge", "Refine"])
def test_a_missing_argument_names_the_task_that_passes_it(task):
    with pytest.raises(JobArgumentError) as raised:
        resolve_args(["script.py", "--dataset", "matches"], ["dataset", "output_uri"], task=task)
    message = str(raised.value)
    assert "--output_uri" in message
    assert f"{task} task" in message
    assert ({"CleanLarge", "Refine"} - {task}).pop() not in message
