"""A crash at each seam of Publish, on the embedded AWS: the data ends correct (the key's
rows in clean and refined all come from the newest published version, never from a
quarantined one) and ``lakeguard ledger check`` proves it, or fails naming the problem.

Each case is one the issue found breaking the copy-then-delete publish: a crash between
the clean and the refined commit, a crash inside a commit, a throttling error after the
commits, a time-out after the ledger write, and a held first version followed by a broken
second one.
"""

import datetime as dt
import json
import threading
import time

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.exceptions import TransientError
from lakeguard.local.faults import LambdaTimedOut, crash_at, hold

from .tables import team_goals

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _season(path, year, team, goals, broken=False):
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for i in range(30):
        day = dt.date(year, 8, 1) + dt.timedelta(days=i)
        score = f"{goals} -0" if broken else f"{goals}-0"
        lines.append(f"{day.strftime('%a %b %d %Y').replace(' 0', ' ')},{team},{score},,{team}Rival")
    path.write_text("\n".join(lines) + "\n")
    return path


def _drop(lake, tmp_path, year, team, goals, broken=False):
    path = _season(tmp_path / f"{year}-{str(year + 1)[2:]}_fr.1.csv", year, team, goals, broken)
    return lake.drop(path, f"matches/crashes/{team}/")


def _check(capsys):
    capsys.readouterr()  # the stages' own log lines
    code = main(["ledger", "check", "--json"])
    report = json.loads(capsys.readouterr().out)
    return code, report


def test_a_crash_between_the_clean_and_the_refined_commit_leaves_the_published_version(
        lake, tmp_path, capsys):
    # GIVEN a key whose first version is published
    assert _drop(lake, tmp_path, 2020, "Between", 1).outcome == "published"
    # WHEN its second version crashes for good right after the clean commit
    with crash_at("commit:clean/matches:done", error=RuntimeError):
        second = _drop(lake, tmp_path, 2020, "Between", 2)
    # THEN it is quarantined and both zones hold the first version's rows, and only them
    assert second.outcome == "quarantined"
    assert team_goals(lake, "clean", "Between") == [1] * 30
    assert team_goals(lake, "refined", "Between") == [1] * 30
    code, report = _check(capsys)
    assert code == 0, report


def test_a_throttled_crash_between_the_commits_is_retried_and_publishes_both(lake, tmp_path,
                                                                             capsys):
    assert _drop(lake, tmp_path, 2021, "Retried", 1).outcome == "published"
    with crash_at("commit:clean/matches:done", error=TransientError):
        second = _drop(lake, tmp_path, 2021, "Retried", 2)
    assert second.outcome == "published", second.reason
    assert team_goals(lake, "clean", "Retried") == [2] * 30
    assert team_goals(lake, "refined", "Retried") == [2] * 30
    code, report = _check(capsys)
    assert code == 0, report


def test_a_crash_inside_the_clean_commit_loses_no_row(lake, tmp_path, capsys):
    assert _drop(lake, tmp_path, 2022, "Inside", 1).outcome == "published"
    with crash_at("commit:clean/matches:written", error=RuntimeError):
        second = _drop(lake, tmp_path, 2022, "Inside", 2)
    assert second.outcome == "quarantined"
    assert team_goals(lake, "clean", "Inside") == [1] * 30
    assert team_goals(lake, "refined", "Inside") == [1] * 30
    code, report = _check(capsys)
    assert code == 0, report


def _ledger_entry(capsys, run_id):
    capsys.readouterr()
    assert main(["ledger", "--json"]) == 0
    return next(e for e in json.loads(capsys.readouterr().out) if e["run_id"] == run_id)


def _audit(lake, result):
    body = client("s3").get_object(Bucket=lake.bucket("artefacts"),
                                   Key=f"audit/matches/{result.run_id}.json")["Body"].read()
    return json.loads(body)


def test_throttling_after_the_commits_is_retried_and_records_what_was_committed(lake, tmp_path,
                                                                                capsys):
    with crash_at("publish:committed", error=TransientError):
        result = _drop(lake, tmp_path, 2023, "Throttled", 3)
    assert result.outcome == "published", result.reason
    assert team_goals(lake, "refined", "Throttled") == [3] * 30
    entry = _ledger_entry(capsys, result.run_id)
    assert any(o.startswith("clean/") for o in entry["outputs"])
    assert any(o.startswith("refined/team_matches") for o in entry["outputs"])
    audit = _audit(lake, result)
    assert audit["clean_objects"] and audit["refined_objects"]
    code, report = _check(capsys)
    assert code == 0, report


def test_a_time_out_after_the_ledger_write_keeps_the_audit_record(lake, tmp_path, capsys):
    with crash_at("publish:recorded", error=LambdaTimedOut):
        result = _drop(lake, tmp_path, 2024, "TimedOut", 4)
    assert result.outcome == "published", result.reason
    audit = _audit(lake, result)
    assert audit["clean_objects"] and audit["refined_objects"]
    assert _ledger_entry(capsys, result.run_id)["outputs"]


def test_a_held_first_version_is_not_superseded_by_a_broken_second(lake, tmp_path, capsys):
    # GIVEN a published version, then a first correction held back at Publish
    assert _drop(lake, tmp_path, 2025, "Held", 1).outcome == "published"
    first = lake.submit(_season(tmp_path / "2025-26_fr.1.csv", 2025, "Held", 2),
                        "matches/crashes/Held/")
    release = threading.Event()
    with lake.inject(hold("publish", first.run_id, release)):
        time.sleep(1.0)
        # WHEN a broken second correction of the same key is quarantined meanwhile
        broken = _drop(lake, tmp_path, 2025, "Held", 3, broken=True)
        assert broken.outcome == "quarantined"
        release.set()
        late = lake.wait(first)
    # THEN the held correction publishes: it is the newest version that was not refused
    assert late.outcome == "published"
    assert team_goals(lake, "clean", "Held") == [2] * 30
    assert team_goals(lake, "refined", "Held") == [2] * 30
    entry = _ledger_entry(capsys, first.run_id)
    assert entry["outputs"] and not (entry["reason"] or "").startswith("superseded")
    code, report = _check(capsys)
    assert code == 0, report


def test_ledger_check_names_what_is_left_in_staging(lake, capsys):
    s3 = client("s3")
    s3.put_object(Bucket=lake.bucket("refined"), Key="_staging/left-behind/x.parquet", Body=b"x")
    try:
        code, report = _check(capsys)
        assert code == 1
        assert any("_staging/left-behind/x.parquet" in s for s in report["staging_leftovers"])
    finally:
        s3.delete_object(Bucket=lake.bucket("refined"), Key="_staging/left-behind/x.parquet")
