"""``lakeguard demo``, ``local run`` and ``report``: files through the embedded lake, and the page.

Progress goes to stderr as each file finishes; the results (one row per file, the
anomalies) go to stdout in the chosen ``--format``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lakeguard.cli.support import (
    EXIT_OK,
    EXIT_PROBLEMS,
    PROJECT_ROOT,
    add_format_option,
    add_state_dir_option,
    dataset_name,
    emit,
    positive_int,
    progress,
    resolve_name,
)
from lakeguard.exceptions import SetupError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeguard.local.persistent import RunningLake
    from lakeguard.local.runtime import LocalLake, RunResult

DEMO_DATA = PROJECT_ROOT / "data" / "football" / "ligue1"
#: Seasons in flight beyond the one waited for: their first stages run while it is modelled
#: and published (the seasons share no rows, so the results are the one-by-one run's).
DEMO_AHEAD = 2
_RESULT_COLUMNS = ("file", "status", "outcome", "rows_in", "rows_out", "rows_rejected",
                   "rows_warned", "rows_suppressed", "k_achieved", "seconds", "reason")


def results_table(results: Sequence[RunResult]) -> pa.Table:
    """One typed row per file (numbers stay numbers for ``--format json``)."""
    import pyarrow as pa

    rows = [dataclasses.asdict(r) for r in results]
    return pa.table({c: pa.array([r[c] for r in rows],
                                 type=pa.float64() if c == "seconds" else None)
                     for c in _RESULT_COLUMNS}) if rows else pa.table(
        {c: pa.array([], pa.string()) for c in _RESULT_COLUMNS})


def _file_line(index: int, total: int, path: Path, result: RunResult) -> str:
    counts = "" if result.rows_in is None else f"{result.rows_in} -> {result.rows_out} rows"
    if result.k_achieved is not None:
        counts += f" (k={result.k_achieved}, {result.rows_suppressed} suppressed)"
    if result.rows_warned:
        counts += f" ({result.rows_warned} warned)"
    return (f"[{index:>3}/{total}] {path.name:<28} {result.status:<9} {result.outcome:<11} "
            f"{counts:<22} {result.seconds:5.1f} s" + (f"  {result.reason}" if result.reason else ""))


def _stage_line(index: int, total: int, path: Path) -> Callable[[str], None] | None:
    """Live per-stage progress on a terminal: one line rewritten in place, cleared after.

    Only where stderr is a terminal: redirected progress keeps one line per file.
    """
    if not sys.stderr.isatty():
        return None

    def show(stage: str) -> None:
        line = f"[{index:>3}/{total}] {path.name:<28} {stage} ..."
        sys.stderr.write("\r" + line[:100].ljust(100) + "\r")
        sys.stderr.flush()

    return show


def _remaining(seconds_per_file: float, files_left: int) -> str:
    """An estimate of the time left from the files done so far (the first includes no start-up)."""
    if files_left <= 0:
        return ""
    left = round(seconds_per_file * files_left)
    return f"  (~{left // 60} min {left % 60:02d} s left)" if left >= 60 else f"  (~{left} s left)"


def run_files(files: Sequence[Path], prefix: str, export: Path | None,
              pseudonym_key: str | None = None,
              then: Callable[[LocalLake], None] | None = None,
              running: LocalLake | None = None, ahead: int = 0) -> list[RunResult]:
    """Push files through the embedded pipeline in order, with progress on stderr.

    One by one, or with ``ahead`` more in flight whose stages before the models and
    Publish run meanwhile (:meth:`LocalLake.drop_in_order`: the same results). Into
    ``running`` (a lake ``local up`` keeps, left running), else into a lake started for
    this call and stopped after it.
    """
    from lakeguard.local.runtime import LocalLake

    results = []
    lake = running or LocalLake(pseudonym_key=pseudonym_key).start(
        progress=lambda m: progress(f"-- {m}"))
    try:
        progress(f"-- dropping {len(files)} file(s) into s3://{lake.bucket('raw')}/{prefix}")
        started = time.monotonic()
        for index, result in enumerate(lake.drop_in_order(
                files, prefix, ahead,
                on_stage=lambda i: _stage_line(i + 1, len(files), files[i])), 1):
            results.append(result)
            progress(_file_line(index, len(files), files[index - 1], result)
                     + _remaining((time.monotonic() - started) / index, len(files) - index))
        if then is not None:
            then(lake)
        if export is not None:
            for zone in ("raw", "clean", "refined", "quarantine", "artefacts"):
                shutil.rmtree(export / zone, ignore_errors=True)
            lake.export(export, results)
            progress(f"-- zones exported to {export}/")
    finally:
        if running is None:
            lake.stop()
    return results


def _print_results(results: Sequence[RunResult], fmt: str) -> None:
    from lakeguard.query import format_result

    table = results_table(results)
    if fmt == "table":
        # the table is for people: the reason cut to a line
        table = table.set_column(table.column_names.index("reason"), "reason",
                                 [[(r or "")[:80] for r in table.column("reason").to_pylist()]])
    emit(format_result(table, fmt))  # type: ignore[arg-type]


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the football demo end to end and write the report."""
    from lakeguard.cli.report import entities, entity_anomalies, write_report
    from lakeguard.query import format_result

    files = sorted(Path(args.data).glob("*.csv"))
    if not files:
        raise UsageError(f"no season files (*.csv) in {args.data}; pass --data a folder of "
                         "football-data CSV files, e.g. data/football/ligue1")
    out = Path(args.out)
    results = run_files(files, "matches/", out, ahead=DEMO_AHEAD)
    try:
        entity = resolve_name(args.entity, entities(out), "team")
    except UsageError as err:
        raise UsageError(f"{err}; the lake is exported: `lakeguard report --local {out} "
                         "--entity NAME` writes the report without running again") from None
    anomalies = entity_anomalies(out, entity)
    paths = write_report(out, entity)
    if args.format == "json":  # one document: a script reads it in one go
        emit(json.dumps({"files": json.loads(format_result(results_table(results), "json")),
                         "entity": entity,
                         "anomalies": json.loads(format_result(anomalies, "json")),
                         "report": str(paths.html), "plot": str(paths.png)}, indent=2))
    else:
        _print_results(results, "table")
        emit(f"\nAnomalies for {entity} (net goals outside the team's normal band):")
        emit(format_result(anomalies, "table"))
        emit(f"\nreport: {paths.html}\nplot:   {paths.png}")
    return EXIT_OK if all(r.outcome == "published" for r in results) else EXIT_PROBLEMS


def cmd_report(args: argparse.Namespace) -> int:
    """Write one team's report page and plot from an exported lake."""
    from lakeguard.cli.report import entities, write_report

    directory = Path(args.local)
    entity = resolve_name(args.entity, entities(directory), "team")
    paths = write_report(directory, entity, Path(args.out) if args.out else None)
    emit(json.dumps({"entity": entity, "html": str(paths.html), "png": str(paths.png)})
         if args.format == "json" else f"report: {paths.html}\nplot:   {paths.png}")
    return EXIT_OK


def _eraser(args: argparse.Namespace) -> Callable[[LocalLake], None]:
    """Erase ``args.erase`` from the embedded lake once its files have run."""

    def erase_from(lake: LocalLake) -> None:
        from lakeguard.cli.ops import print_erasure
        from lakeguard.config import Settings
        from lakeguard.erasure import erase

        report = erase(args.dataset, args.erase, Settings.from_outputs(lake.outputs),
                       lake.outputs["PseudonymSecretArn"], dry_run=args.dry_run)
        print_erasure(report, "table", out=progress)
    return erase_from


def _files(given: Sequence[str]) -> list[Path]:
    files = [f for path in map(Path, given)
             for f in (sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"no such file(s): {', '.join(missing)}; check the paths")
    if not files:
        raise UsageError(f"no files in {', '.join(given)}; pass files or folders holding some")
    return files


def cmd_local_run(args: argparse.Namespace) -> int:
    """Push files through the embedded pipeline; exit 0 only if every file was published."""
    from lakeguard.contracts import load_contract
    from lakeguard.local.persistent import attach, running_lake

    contract = load_contract(args.dataset)
    files = _files(args.files)
    key = args.pseudonym_key_file.read_text(encoding="utf-8").strip() \
        if args.pseudonym_key_file else None
    running = None
    if running_lake(args.state_dir) is not None:
        if key is not None:
            raise UsageError("--pseudonym-key-file cannot change the key of the lake that is up; "
                             "run `lakeguard local down` first, or leave the option out")
        running = attach(args.state_dir)
        progress(f"-- into the embedded lake that is up ({running.outputs['RawBucketName']})")
    results = run_files(files, contract.raw.prefix, Path(args.export) if args.export else None,
                        key, _eraser(args) if args.erase else None, running)
    _print_results(results, args.format)
    published = sum(r.outcome == "published" for r in results)
    if args.format == "table":
        emit(f"\n{published} published, {len(results) - published} quarantined")
    return EXIT_OK if published == len(results) else EXIT_PROBLEMS


def _print_lake(running: RunningLake, fmt: str, headline: str) -> None:
    from lakeguard.local.persistent import describe

    if fmt == "json":
        emit(json.dumps(describe(running), indent=2, sort_keys=True))
        return
    emit(headline)
    for name, value in describe(running).items():
        emit(f"  {name + ':':<15}{value}")
    emit('point other commands at it with: eval "$(lakeguard local env)"')


def cmd_local_up(args: argparse.Namespace) -> int:
    """Start the persistent embedded lake (or find it up)."""
    from lakeguard.local.persistent import up

    running, started = up(args.state_dir, args.port, progress=progress)
    _print_lake(running, args.format, f"embedded lake {'up' if started else 'already up'} on "
                f"{running.endpoint}")
    return EXIT_OK


def cmd_local_status(args: argparse.Namespace) -> int:
    """Say whether the embedded lake is up; exit 1 if not."""
    from lakeguard.local.persistent import not_up, running_lake

    running = running_lake(args.state_dir)
    if running is None:
        emit(json.dumps({"up": False}) if args.format == "json" else not_up(args.state_dir))
        return EXIT_PROBLEMS
    _print_lake(running, args.format, f"embedded lake up on {running.endpoint}")
    return EXIT_OK


def cmd_local_down(args: argparse.Namespace) -> int:
    """Save the lake's state and stop it."""
    from lakeguard.local.persistent import SAVED, down

    stopped = down(args.state_dir, progress=progress)
    if stopped is None:
        emit(f"no embedded lake was up for {args.state_dir}/")
        return EXIT_OK
    emit(f"embedded lake stopped; its state is in {args.state_dir / SAVED}/")
    return EXIT_OK


def cmd_local_env(args: argparse.Namespace) -> int:
    """Print the shell exports that point AWS clients at the running lake."""
    from lakeguard.local.persistent import not_up, running_lake

    running = running_lake(args.state_dir)
    if running is None:
        raise SetupError(not_up(args.state_dir))
    for line in running.exports():
        emit(line)
    return EXIT_OK


def add_local_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``demo``, ``report`` and ``local run|up|status|down|env``."""
    demo = sub.add_parser(
        "demo", help="run the football demo on the embedded AWS",
        description="Start the embedded AWS, drop every season file of --data into it, export the "
                    "zones to --out, print one row per file and the team's anomalies, and write "
                    "the report. The first run takes several minutes (CDK synth, local Spark).",
        epilog="examples:\n  lakeguard demo\n  lakeguard demo --entity lyon --out /tmp/demo")
    demo.add_argument("--data", default=str(DEMO_DATA), help="folder of season CSV files")
    demo.add_argument("--out", default="demo-out", help="where to export zones and the report")
    demo.add_argument("--entity", default="Marseille",
                      help="team whose anomalies to show (any case)")
    add_format_option(demo, ("table", "json"))
    demo.set_defaults(func=cmd_demo)

    report = sub.add_parser(
        "report", help="write a team's report page and plot from an exported lake",
        description="The anomalies most severe first, with their explanation and model version, "
                    "the data covered and its gaps, and the plot; from a lake exported by "
                    "`lakeguard demo` or `lakeguard local run --export DIR`.",
        epilog="examples:\n  lakeguard report --local demo-out --entity marseille")
    report.add_argument("--local", metavar="DIR", default="demo-out", help="an exported lake")
    report.add_argument("--entity", default="Marseille", help="the team (any case)")
    report.add_argument("--out", metavar="DIR", help="where to write (default: the --local DIR)")
    add_format_option(report, ("table", "json"))
    report.set_defaults(func=cmd_report)

    local = sub.add_parser("local", help="the embedded AWS",
                           description="Run files through the embedded AWS (moto), offline.")
    local_sub = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    run = local_sub.add_parser(
        "run", help="push files through the embedded pipeline",
        description="Start the embedded AWS, drop each file into the raw bucket under the "
                    "dataset's prefix, and wait for its run. Progress goes to stderr, one row "
                    "per file to stdout. Exit 1 if any file was quarantined.",
        epilog="examples:\n"
               "  lakeguard local run --dataset matches data/football/ligue1 --export out\n"
               "  lakeguard local run --dataset absences a.csv --format json > runs.json")
    run.add_argument("--dataset", metavar="NAME", required=True, type=dataset_name,
                     help="dataset contract name, e.g. matches")
    run.add_argument("--export", metavar="DIR", help="export the zones to DIR afterwards")
    run.add_argument("--pseudonym-key-file", metavar="FILE", type=Path,
                     help="fix the pseudonymisation key to FILE's content, so pseudonyms are "
                          "the same from run to run (default: LAKEGUARD_LOCAL_PSEUDONYM_KEY, "
                          "else a random key per start, as in AWS)")
    run.add_argument("--erase", metavar="NIR",
                     help="after the files, erase this data subject from the embedded lake")
    run.add_argument("--dry-run", action="store_true",
                     help="with --erase: list what would change, change nothing")
    add_format_option(run)
    run.add_argument("files", nargs="+",
                     help="raw files (or folders of them) to drop into the raw bucket")
    run.set_defaults(func=cmd_local_run)

    for name, func, text, description, example in (
            ("up", cmd_local_up, "start an embedded lake that keeps running",
             "Start the embedded AWS with the stacks deployed in a background process, on a "
             "free port (printed), restoring the state `local down` saved. `local run` and "
             "`query --lake` use it; `eval \"$(lakeguard local env)\"` points every other "
             "command (ledger, models, erase, redrive, compact) and the AWS CLI at it.",
             "lakeguard local up\n  lakeguard local up --port 4566"),
            ("status", cmd_local_status, "say whether the embedded lake is up, and where",
             "Its process, port, endpoint and raw bucket; exit 1 when none is up.",
             "lakeguard local status --format json"),
            ("down", cmd_local_down, "save the embedded lake's state and stop it",
             "Export every zone, the ledger and the tables to <state-dir>/saved/ (what the "
             "next `local up` restores, and what `--local` commands read), then stop.",
             "lakeguard local down\n  lakeguard ledger check --local .lakeguard/saved"),
            ("env", cmd_local_env, "print shell exports that point commands at the lake",
             "AWS_ENDPOINT_URL, the embedded AWS's operator keys and region, as `export` lines.",
             'lakeguard local env\n  eval "$(lakeguard local env)" && lakeguard ledger '
             '--state quarantined')):
        command = local_sub.add_parser(name, help=text, description=description,
                                       epilog=f"examples:\n  {example}")
        command.set_defaults(func=func)
        add_state_dir_option(command, "where the lake keeps lake.json, its log and saved state")
        if name == "up":
            command.add_argument("--port", type=positive_int,
                                 help="the port to listen on (default: a free one)")
        if name in ("up", "status"):
            add_format_option(command, ("table", "json"))
    add_state_dir_option(run, "use the lake `local up` keeps for DIR when one is up; "
                              "otherwise start one for this run")
