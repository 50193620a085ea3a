"""Every file of the hostile corpus through the Lambda path's stages, in process.

The end-to-end test (tests/e2e/test_hostile.py) drops the same files into the embedded
lake; this one gives the verdict in seconds and names the stage that decides it.
"""

import pytest

from tests.corpus.hostile import QUARANTINED, everything
from tests.corpus.verdicts import lambda_verdict

CORPUS = everything()


def test_the_corpus_covers_every_class_for_every_dataset():
    cases = {(h.dataset, h.case) for h in CORPUS}
    for dataset in ("matches", "absences", "absenteeism", "customers"):
        for case in ("nul_byte", "c1_control", "replacement_character", "mojibake",
                     "number_overflow", "byte_order_mark", "quoted_header", "cr_line_endings",
                     "cp1252_file", "unquoted_delimiter", "missing_header", "key_dot_dot"):
            assert (dataset, case) in cases
    for dataset in ("matches", "absences"):
        for case in ("impossible_date", "year_0019", "year_9999", "year_2099",
                     "two_digit_year"):
            assert (dataset, case) in cases
    assert len(CORPUS) == len({h.key for h in CORPUS})


@pytest.mark.parametrize("hostile", CORPUS, ids=lambda h: f"{h.dataset}-{h.case}")
def test_each_hostile_file_gets_its_outcome_and_reason(hostile):
    verdict = lambda_verdict(hostile)
    assert verdict.outcome == hostile.outcome, verdict.message
    if verdict.outcome == QUARANTINED:
        assert hostile.words in verdict.message, verdict.message
        return
    assert verdict.counts["rows_rejected"] == hostile.rejected, verdict.rules
    assert verdict.counts["rows_warned"] == hostile.warned, verdict.rules
    if hostile.rule:
        assert [rule for _, _, rule in verdict.rules] == [hostile.rule]
