"""The command line as a user runs it: exit codes, one-line errors, options that mean the same
everywhere, and stdout that holds only results. Each test reproduces one finding of issue 18."""

import json
import subprocess
import sys

import pytest

from lakeguard.cli import build_parser, main
from lakeguard.cli.support import FORMATS, all_parsers


def _entry(key, state, reason=None, dataset="matches"):
    return {"bucket": "raw", "key": key, "version_id": "v1", "dataset": dataset, "size": 10,
            "state": state, "run_id": f"run-{key}", "received_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:01+00:00", "reason": reason, "outputs": []}


@pytest.fixture
def export(tmp_path):
    """The smallest exported lake the ledger reads: two raw versions, both final."""
    entries = [_entry("matches/a.csv", "published"),
               _entry("matches/b.csv", "quarantined", "ValidationFailed: no FT column")]
    (tmp_path / "ledger.json").write_text(json.dumps(entries))
    (tmp_path / "raw_versions.json").write_text(json.dumps([[e["key"], "v1"] for e in entries]))
    (tmp_path / "catalog.json").write_text(json.dumps({"tables": {}, "staging": []}))
    return tmp_path


def _one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lakeguard: "), err
    assert "Traceback" not in err and "\x1b" not in err
    return lines[0]


# --- usage errors exit 2, with one line naming the fix ------------------------------------------

def test_negative_rows_are_refused_not_written(tmp_path, capsys):
    assert main(["sample", "--rows", "-5", "--out", str(tmp_path / "a.csv")]) == 2
    assert "--rows: -5 must be above 0" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "a.csv").exists()


def test_an_unknown_dataset_is_named_with_the_known_ones(export, capsys):
    assert main(["ledger", "--local", str(export), "--dataset", "nope"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "no dataset 'nope'" in line and "matches" in line and "absences" in line


def test_the_dataset_is_matched_whatever_its_case(export, capsys):
    assert main(["ledger", "--local", str(export), "--dataset", "MATCHES", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_an_unknown_option_is_one_line_and_exit_2(capsys):
    assert main(["ledger", "--nope"]) == 2
    assert "unrecognized arguments: --nope" in _one_line(capsys.readouterr().err)


def test_a_local_folder_that_does_not_exist_is_a_usage_error(tmp_path, capsys):
    assert main(["models", "list", "--local", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in _one_line(capsys.readouterr().err)


# --- ledger --local DIR check keeps --local -----------------------------------------------------

def test_ledger_local_before_check_is_kept(export):
    args = build_parser().parse_args(["ledger", "--local", str(export), "check"])
    assert args.local == export and args.func.__name__ == "cmd_ledger_check"
    args = build_parser().parse_args(["ledger", "check", "--local", str(export)])
    assert args.local == export


def test_ledger_local_before_check_checks_the_export_without_aws(export, monkeypatch, capsys):
    # GIVEN no AWS at all: going to AWS would fail with a region or credentials error
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    # WHEN the check is run with --local before the sub-command
    code = main(["ledger", "--local", str(export), "check", "--format", "json"])
    # THEN it checked the export
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["ok"] is True


# --- output formats -----------------------------------------------------------------------------

def test_every_command_that_prints_results_has_format(capsys):
    with_format = {p.prog.removeprefix("lakeguard ") for p in all_parsers(build_parser())
                   if any(a.dest == "format" for a in p._actions)}
    assert with_format >= {"demo", "report", "local run", "query", "erase", "doctor", "ledger",
                           "ledger check", "models list"}


def test_every_evaluation_command_has_format():
    from lakeguard_eval.cli import build_parser as build_eval_parser

    with_format = {p.prog.removeprefix("lakeguard-eval ") for p in all_parsers(build_eval_parser())
                   if any(a.dest == "format" for a in p._actions)}
    assert with_format >= {"nab", "nab score", "nab cv"}


def test_the_lake_command_has_no_evaluation_commands():
    assert "nab" not in {p.prog.removeprefix("lakeguard ") for p in all_parsers(build_parser())}


@pytest.mark.parametrize("fmt", FORMATS)
def test_ledger_prints_each_format_on_stdout_only(export, fmt, capsys):
    assert main(["ledger", "--local", str(export), "--format", fmt]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    if fmt == "json":
        rows = json.loads(printed.out)
        assert rows[1]["size"] == 10 and rows[1]["reason"] == "ValidationFailed: no FT column"
    else:
        assert "matches/b.csv" in printed.out


def test_json_is_still_accepted_as_format_json(export, capsys):
    assert main(["ledger", "--local", str(export), "--json"]) == 0
    assert [e["key"] for e in json.loads(capsys.readouterr().out)] == ["matches/a.csv",
                                                                       "matches/b.csv"]


def test_csv_keeps_full_precision_and_json_numbers_stay_numbers():
    import decimal

    import pyarrow as pa

    from lakeguard.query import format_result

    table = pa.table({"x": [1.23456789012345, None], "n": [3, 4],
                      "d": pa.array([decimal.Decimal("1.50"), None], pa.decimal128(5, 2))})
    assert format_result(table, "csv").splitlines()[1] == "1.23456789012345,3,1.50"
    assert json.loads(format_result(table, "json")) == [{"x": 1.23456789012345, "n": 3, "d": 1.5},
                                                        {"x": None, "n": 4, "d": None}]
    assert json.loads(format_result(pa.table({"x": [float("nan")]}), "json")) == [{"x": None}]


# --- no traceback for expected failures, --debug for the trace ----------------------------------

def test_bad_sql_is_one_line_without_sqlglot_internals(tmp_path, capsys):
    assert main(["query", "--local", str(tmp_path), "SELEC * FROM refined.x WHERE"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "not valid Athena SQL at line 1, column 12 near 'FROM'" in line
    assert "<class" not in line and "sqlglot" not in line


def test_debug_adds_the_trace(tmp_path, capsys):
    assert main(["--debug", "query", "--local", str(tmp_path), "SELECT (1"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("lakeguard: not valid")


def test_an_unexpected_error_names_where_but_not_its_message(monkeypatch, export, capsys):
    import lakeguard.cli.ledger as ledger

    def boom(args):
        raise ValueError("row 3: 1850775123456")  # may quote personal data

    monkeypatch.setattr(ledger, "_entries", boom)
    assert main(["ledger", "--local", str(export)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "internal error (ValueError in test_cli.py:" in line and "--debug" in line
    assert "1850775123456" not in line


# --- broken pipes, --version, help ---------------------------------------------------------------

def test_a_closed_pipe_ends_quietly(export, monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["ledger", "--local", str(export), "--format", "json"]) == 0
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_in_a_real_process_prints_no_traceback(export):
    reader, writer = __import__("os").pipe()
    __import__("os").close(reader)  # as `| head` does once it has its lines
    done = subprocess.run([sys.executable, "-m", "lakeguard.cli", "ledger", "--local", str(export)],
                          stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    __import__("os").close(writer)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("lakeguard 0.")


def test_every_command_has_a_description_and_examples():
    leaves = [p for p in all_parsers(build_parser()) if p.prog != "lakeguard"
              and not any(a.__class__.__name__ == "_SubParsersAction" and a.required
                          for a in p._actions)]
    assert len(leaves) >= 14
    for parser in leaves:
        text = parser.format_help()
        assert parser.description, parser.prog
        assert "examples:\n  lakeguard " in text, parser.prog


def test_help_shows_defaults():
    text = build_parser()._subparsers._group_actions[0].choices["sample"].format_help()
    assert "(default: 10000)" in text and "(default: None)" not in text


def test_local_run_progress_estimates_the_time_left():
    from lakeguard.cli.local import _remaining

    assert _remaining(13.2, 30) == "  (~6 min 36 s left)"
    assert _remaining(5.0, 3) == "  (~15 s left)" and _remaining(5.0, 0) == ""


def test_a_missing_key_file_is_a_usage_error_before_the_lake_starts(tmp_path, capsys):
    raw = tmp_path / "season.csv"
    raw.write_text("Date\n")
    assert main(["local", "run", "--dataset", "matches", str(raw),
                 "--pseudonym-key-file", str(tmp_path / "no-key")]) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"lakeguard: No such file or directory: {tmp_path / 'no-key'}; check the path given")


def test_missing_raw_files_are_named(tmp_path, capsys):
    assert main(["local", "run", "--dataset", "matches", str(tmp_path / "nope.csv")]) == 2
    assert "no such file(s): " in _one_line(capsys.readouterr().err)


def test_erase_has_a_machine_readable_report_without_the_identifier(capsys):
    from lakeguard.cli.ops import print_erasure
    from lakeguard.erasure import ErasureReport

    report = ErasureReport("absences", "p-3f2a", "k2", dry_run=True, clean_rows_removed=3,
                           clean_objects=["absences/part-1.parquet"])
    print_erasure(report, "json")
    shown = json.loads(capsys.readouterr().out)
    assert shown["clean_rows_removed"] == 3 and shown["dry_run"] is True
    assert shown["clean_objects"] == ["absences/part-1.parquet"] and "subject" not in shown
    print_erasure(report)
    assert "would erase subject p-3f2a" in capsys.readouterr().out


def test_the_files_commands_read_from_the_source_tree_are_where_they_look():
    """Moving the CLI into a package once made ``demo``, ``doctor`` and ``teardown`` look for
    ``cdk.json`` and the demo seasons under ``lakeguard/``."""
    from lakeguard.cli.local import DEMO_DATA
    from lakeguard.cli.ops import CDK_JSON

    assert CDK_JSON.is_file() and (CDK_JSON.parent / "app.py").is_file()
    assert len(list(DEMO_DATA.glob("*.csv"))) == 31
