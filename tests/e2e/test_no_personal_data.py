"""No personal data in any message, end to end: files full of identifiers push every error
path of the embedded pipeline (on the Lambda path, and some on the Glue path), then
everything the run wrote or printed is scanned: quarantine reports, ledger entries, the
Step Functions history (error causes included), the exported summary.json and ledger.json,
the CLI's tables and the process's output (the stages' logs).
"""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.cli.local import results_table
from lakeguard.query import format_result
from tests.corpus.planted import files, identifiers, leaks

from .deployed import routed_to_glue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PLANTED = identifiers()
ON_GLUE = ("unquoted_separator.csv", "bad_dates.csv", "control_characters.csv")


class _Records(logging.Handler):
    """Every log record the embedded runtime emits in this process while the files travel."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.__dict__}")
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture(scope="module")
def run(lake, tmp_path_factory):
    records = _Records()
    loggers = [logging.getLogger(), logging.getLogger("lakeguard")]
    for logger in loggers:
        logger.addHandler(records)
    try:
        results = _drop(lake, tmp_path_factory.mktemp("planted"))
        # the stages run in worker processes, as in Lambda: what they logged is in their
        # log files; the in-process records hold what the embedded runtime logged itself
        workers = [path.read_text(encoding="utf-8", errors="replace")
                   for path in sorted(lake.functions.logs.glob("*.log"))]
        return results, records.lines + [text for text in workers if text]
    finally:
        for logger in loggers:
            logger.removeHandler(records)


def _drop(lake, folder):
    submitted = []
    for planted in files():
        (folder / planted.name).write_bytes(planted.data)
        submitted.append(lake.submit(folder / planted.name, "absences/planted/"))
    results = [lake.wait(s, timeout=3600) for s in submitted]
    with routed_to_glue():
        results += [lake.drop(folder / name, "absences/planted-glue/", timeout=3600)
                    for name in ON_GLUE]
    return results


def _histories(lake, results):
    arn = lake.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    sfn = client("stepfunctions")
    return json.dumps([sfn.get_execution_history(executionArn=f"{arn}:{r.run_id}",
                                                 maxResults=1000)["events"]
                       for r in results], default=str)


def test_every_planted_file_is_quarantined_with_a_reason(run):
    results, logged = run
    assert logged  # the stages logged while the files travelled
    assert [r.outcome for r in results] == ["quarantined"] * len(results)
    assert all(r.reason for r in results)


def test_nothing_the_run_wrote_or_printed_holds_an_identifier(lake, run, tmp_path, capfd):
    results, logged = run
    # everything the run wrote: reports, ledger, history, the export's files
    written = {
        "quarantine reports": json.dumps([lake.quarantine_report(r.run_id) for r in results]),
        "step functions history": _histories(lake, results),
    }
    # (the zones these files could write to: every planted file ends in quarantine, and the
    # session's other tests fill raw, clean and refined with data this test does not read)
    export = lake.export(tmp_path / "export", results, zones=("quarantine", "artefacts"))
    written["summary.json"] = (export / "summary.json").read_text(encoding="utf-8")
    written["ledger.json"] = (export / "ledger.json").read_text(encoding="utf-8")
    for path in sorted((export / "quarantine").rglob("report.json")):
        written[str(path.relative_to(export))] = path.read_text(encoding="utf-8")
    for path in sorted((export / "artefacts").rglob("*.json")):
        written[str(path.relative_to(export))] = path.read_text(encoding="utf-8")
    # everything printed: the CLI's views of the run and of the export, and the logs
    assert main(["ledger", "--json"]) == 0
    printed = capfd.readouterr()
    cli = subprocess.run([sys.executable, "-m", "lakeguard.cli", "ledger", "--local",
                          str(export), "--state", "quarantined"], capture_output=True,
                         text=True, check=True, timeout=300)
    written["cli"] = format_result(results_table(results)) + printed.out + printed.err + cli.stdout
    written["logs"] = "\n".join(logged)
    found = {where: leaks(text, PLANTED) for where, text in written.items()}
    assert {where: hits for where, hits in found.items() if hits} == {}
    # (the raw object copies kept in quarantine hold the data, as they must)
    copy = next((export / "quarantine" / "absences").rglob("bad_dates.csv"))
    assert leaks(copy.read_bytes().decode("utf-8"), PLANTED)


def test_the_reasons_name_row_column_and_rule(run):
    results, _ = run
    reasons = {Path(r.key).name: r.reason for r in results}
    assert "position(s)" in reasons["no_header.csv"]
    assert "data row(s) 8" in reasons["unquoted_separator.csv"]
    assert "line" in reasons["cp1252.csv"] and "cp1252" in reasons["cp1252.csv"]
    assert "rule date.impossible" in reasons["bad_dates.csv"]
    assert "rule nir" in reasons["bad_nir.csv"]
    assert "rule text.control" in reasons["control_characters.csv"]
    assert "rule number.not_finite" in reasons["infinite_hours.csv"]
