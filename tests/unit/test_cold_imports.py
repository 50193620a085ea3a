"""What a stage's import leaves out: each of these cost a cold start and most calls need none.

Measured by ``bench/cold_start.py``; pinned here so a stray top-level import cannot bring
one back unnoticed. Run in a fresh interpreter: this one has imported everything.
"""

import subprocess
import sys

import pytest

from lakeguard.privacy.detectors import is_phone

#: Module -> what it would cost each cold start, and what uses it instead.
LEFT_OUT = {
    "phonenumbers": "14 ms; imported on the first international number candidate",
    "boto3": "clients come from botocore (boto3 pulls s3transfer)",
    "pandas": "the stages work on Arrow",
}


@pytest.mark.parametrize("stage", ["clean", "quality", "refine", "score", "publish"])
def test_a_stage_imports_none_of_the_modules_it_can_do_without(stage):
    probe = (f"import sys, lakeguard.pipeline.handler, lambdas.{stage}; "
             f"print(' '.join(m for m in {sorted(LEFT_OUT)!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == [], {m: LEFT_OUT[m] for m in loaded}


def test_the_phone_library_still_confirms_a_number_once_imported_late():
    assert is_phone("+44 20 7946 0958") and not is_phone("+44 20 7946")
