"""Duplicates and ordering on the embedded AWS: the same file twice publishes once, and the
newest version of a key wins whatever order the executions finish in."""

import datetime as dt
import json
import threading
import time

import pytest

from lakeguard.cli import main
from lakeguard.local.faults import hold

from .tables import team_goals

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KEY = "matches/duplicates/2013-14_fr.1.csv"


def _season(home_goals):
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for i, goals in enumerate(home_goals):
        day = dt.date(2013, 8, 1) + dt.timedelta(days=i)
        lines.append(f"{day.strftime('%a %b %d %Y').replace(' 0', ' ')},Gamma,{goals}-0,,Delta")
    return ("\n".join(lines) + "\n").encode()


def _gamma_goals(lake):
    return team_goals(lake, "refined", "Gamma")


def _entries(capsys):
    assert main(["ledger", "--json"]) == 0
    return [e for e in json.loads(capsys.readouterr().out) if e["key"] == KEY]


@pytest.fixture(scope="module")
def versions(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dups")
    first = folder / "2013-14_fr.1.csv"
    first.write_bytes(_season([1] * 30))
    runs = [lake.drop(first, "matches/duplicates/"),
            lake.drop(first, "matches/duplicates/")]  # the same file uploaded twice
    first.write_bytes(_season([2] * 30))  # then a corrected file under the same key
    runs.append(lake.drop(first, "matches/duplicates/"))
    return runs


def test_the_same_file_uploaded_twice_publishes_its_rows_once(lake, versions, capsys):
    assert [r.outcome for r in versions] == ["published"] * 3
    assert len({r.run_id for r in versions}) == 3  # three S3 versions, three runs
    assert _gamma_goals(lake) == [2] * 30  # one copy of the rows, the latest version's
    assert [e["state"] for e in _entries(capsys)] == ["published"] * 3


def test_an_older_version_finishing_last_does_not_replace_the_newer_one(lake, versions, tmp_path,
                                                                        capsys):
    path = tmp_path / "2013-14_fr.1.csv"
    path.write_bytes(_season([3] * 30))
    release = threading.Event()
    # GIVEN a version whose run is held at Publish while a newer version is written and published
    first = lake.submit(path, "matches/duplicates/")
    with lake.inject(hold("publish", first.run_id, release)):
        time.sleep(1.0)  # let the held run reach Publish
        path.write_bytes(_season([4] * 30))
        newer = lake.drop(path, "matches/duplicates/")
        assert newer.outcome == "published"
        release.set()
        late = lake.wait(first)
    # THEN the older run ends last, commits nothing, and the newest version's rows stay
    assert late.outcome == "published"
    assert _gamma_goals(lake) == [4] * 30
    entry = next(e for e in _entries(capsys) if e["run_id"] == first.run_id)
    assert entry["outputs"] == [] and entry["reason"].startswith("superseded")
    assert main(["ledger", "check"]) == 0
