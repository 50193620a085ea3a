"""The object ledger on the embedded AWS: every dropped file ends published or quarantined,
and ``lakeguard ledger check`` proves it, deployed and on an export."""

import json
from pathlib import Path

import pytest

from lakeguard.aws import client
from lakeguard.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"


@pytest.fixture(scope="module")
def drops(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger")
    (folder / "empty_fr.1.csv").write_bytes(b"")
    (folder / "notes.txt").write_text("not a dataset\n")
    return {
        "good": lake.drop(SEASONS / "2005-06_fr.1.csv", "matches/"),
        "empty": lake.drop(folder / "empty_fr.1.csv", "matches/"),
        "unrouted": lake.drop(folder / "notes.txt", "misc/"),
    }


def _entries(capsys, *args):
    assert main(["ledger", "--json", *args]) == 0
    return {e["key"]: e for e in json.loads(capsys.readouterr().out)}


def test_each_file_has_one_final_entry_with_outputs_or_a_reason(drops, capsys):
    entries = _entries(capsys)
    good = entries["matches/2005-06_fr.1.csv"]
    assert good["state"] == "published" and good["dataset"] == "matches"
    assert any(o.startswith("clean/matches@") for o in good["outputs"])
    assert any(o.startswith("refined/team_matches@") for o in good["outputs"])
    assert good["version_id"] and good["reason"] is None
    execution = client("stepfunctions").describe_execution(executionArn=good["execution_arn"])
    assert execution["name"] == good["run_id"] and execution["status"] == "SUCCEEDED"
    assert good["size"] > 0 and good["received_at"] and good["updated_at"]
    empty = entries["matches/empty_fr.1.csv"]
    assert empty["state"] == "quarantined" and empty["reason"].startswith("ValidationFailed")
    unrouted = entries["misc/notes.txt"]
    assert unrouted["state"] == "quarantined" and unrouted["dataset"] is None
    assert unrouted["reason"].startswith("RoutingError")
    assert set(_entries(capsys, "--state", "quarantined")) >= {"matches/empty_fr.1.csv",
                                                               "misc/notes.txt"}


def test_ledger_check_proves_the_accounting_and_names_rows_nobody_published(lake, drops,
                                                                           capsys):
    import pyarrow as pa

    from lakeguard.config import Settings
    from lakeguard.tables import Source, load_table, replace_rows, revert_run
    from lakeguard.tables.commit import with_lineage

    capsys.readouterr()
    assert main(["ledger", "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["raw_versions"] >= 3 and not report["unaccounted"]
    # rows committed outside the pipeline (no ledger entry names their run) are caught
    table = load_table(Settings.from_outputs(lake.outputs), "clean", "matches")
    stray = Source("stray-run", "stray-key", "matches/stray.csv", None, None)
    replace_rows(table, with_lineage(pa.table({"home_team": ["Nobody"]}),
                                     table.schema().as_arrow(), stray), stray)
    try:
        assert main(["ledger", "check"]) == 1
        out = capsys.readouterr().out
        assert "wrong rows: clean/matches: 1 rows of run stray-run" in out
        assert "partial commit: run stray-run committed clean/matches@" in out
    finally:
        revert_run(table.refresh(), stray)


def test_ledger_check_works_offline_on_an_export(lake, drops, tmp_path, capsys):
    lake.export(tmp_path)
    assert main(["ledger", "check", "--local", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "unaccounted:         0" in out and "OK" in out
    assert _entries(capsys, "--local", str(tmp_path), "--dataset", "matches")[
        "matches/2005-06_fr.1.csv"]["state"] == "published"
