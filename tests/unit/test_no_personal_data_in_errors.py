"""No error message carries a raw cell: every error path, pushed with planted identifiers.

The end-to-end twin (tests/e2e/test_no_personal_data.py) scans everything a real run
writes and prints; this one checks the messages the stages raise, in seconds.
"""

import logging

import pytest

from tests.corpus.hostile import Hostile
from tests.corpus.planted import files, identifiers, leaks
from tests.corpus.verdicts import lambda_verdict

PLANTED = identifiers()


def test_the_planted_identifiers_are_there_to_be_found():
    assert len(PLANTED) > 500
    assert all(leaks(f.data.decode("utf-8", "replace"), PLANTED) for f in files()
               if f.name != "header_only.csv" and f.name != "utf16.csv")


@pytest.mark.parametrize("planted", files(), ids=lambda f: f.name)
def test_an_error_names_row_column_and_rule_never_a_value(planted, caplog):
    # GIVEN a file full of identifiers that fails in its own way
    hostile = Hostile("absences", planted.name.removesuffix(".csv"), planted.name, planted.data)
    # WHEN the Lambda path's stages decide on it
    with caplog.at_level(logging.DEBUG):
        verdict = lambda_verdict(hostile)
    # THEN it is refused, and neither the message, nor the traceback the Lambda runtime
    # would log (chained causes included), nor any log line holds an identifier
    assert verdict.outcome == "quarantined", planted.path
    assert leaks(verdict.message, PLANTED) == [], verdict.message
    assert leaks(verdict.logged, PLANTED) == []
    assert leaks(caplog.text, PLANTED) == []
    assert any(word in verdict.message for word in ("row", "line", "position", "header"))
