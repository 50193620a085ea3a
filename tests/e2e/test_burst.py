"""60 files dropped at once on the embedded AWS, half of them bad: every one ends published
or quarantined as it should, and ``lakeguard ledger check`` accounts for all of them.

60 is enough to queue behind every limit of the embedded runtime (more than ingest's 5
concurrent batches of 10, two workers per function, one Spark process per Glue job) and
keeps the suite short; ``bench/burst.py`` drops 300 (its default) and times them."""

import json

import pytest

from lakeguard.cli import main
from lakeguard.samples.burst import write_burst

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BURST = 60


def test_a_burst_of_files_is_fully_accounted_for(lake, tmp_path, capsys):
    expected = write_burst(tmp_path, files=BURST, bad_share=0.5)
    submitted = [lake.submit(tmp_path / name, "matches/burst/") for name in expected]
    results = {r.file: r for r in (lake.wait(s) for s in submitted)}
    wrong = {name: (r.outcome, r.reason) for name, r in results.items()
             if r.outcome != expected[name]}
    assert not wrong
    assert main(["ledger", "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["raw_versions"] >= BURST
