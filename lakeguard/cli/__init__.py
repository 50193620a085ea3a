"""The lakeguard command line: demo, query, ledger, models, erase, and the embedded lake.

Exit codes: 0 ok, 1 the work found problems, 2 usage error, 3 environment or
credentials missing. Results on stdout, progress and logs on stderr.

This module builds the parser and runs ``main`` (the ``lakeguard`` console script, and
``python -m lakeguard.cli``); the command groups live beside it: ``local`` (demo, report,
local run/up/status/down/env), ``ops`` (erase, redrive, reprocess, compact, doctor,
teardown), ``models``, ``ledger``; ``report`` and ``report_coverage`` write a team's report
page; ``support`` is what every command shares (exit codes, errors, options, output).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from lakeguard import __version__
from lakeguard.cli.ledger import add_ledger_parser
from lakeguard.cli.local import add_local_parsers
from lakeguard.cli.models import add_models_parser
from lakeguard.cli.ops import add_ops_parsers
from lakeguard.cli.support import (
    EXIT_OK,
    Parser,
    add_format_option,
    add_state_dir_option,
    emit,
    existing_dir,
    positive_int,
    progress,
    run_main,
    with_global_options,
)
from lakeguard.config import ENV_ATHENA_WORKGROUP, ENV_GLUE_DATABASE
from lakeguard.exceptions import SetupError

_EPILOG = """\
exit codes:
  0  ok
  1  the work found problems (a quarantined file, a failed check) or failed
  2  usage error (unknown option, dataset or entity; a value out of range)
  3  environment or credentials missing (region, credentials, deployed stack)

Run `lakeguard COMMAND --help` for a command's options and examples."""


def cmd_query(args: argparse.Namespace) -> int:
    """Answer Athena SQL locally (DuckDB over an export) or through Athena."""
    from lakeguard.query import bytes_scanned, format_result, query_athena, query_local, scan_note

    if args.local:
        table = query_local(args.local, args.sql)
    elif args.lake:
        import tempfile

        from lakeguard.local.persistent import attach

        with tempfile.TemporaryDirectory(prefix="lakeguard-query-") as folder:
            table = query_local(attach(args.state_dir).export(Path(folder), zones=("refined",)),
                                args.sql)
    else:
        workgroup = args.workgroup or os.environ.get(ENV_ATHENA_WORKGROUP)
        database = args.database or os.environ.get(ENV_GLUE_DATABASE)
        if not workgroup or not database:
            raise SetupError(
                "querying Athena needs --workgroup and --database (or the environment "
                f"variables {ENV_ATHENA_WORKGROUP} and {ENV_GLUE_DATABASE}); the stack outputs "
                "AthenaWorkgroupName and GlueDatabaseName give them; use --local DIR offline"
            )
        table = query_athena(args.sql, workgroup=workgroup, database=database)
    scanned = bytes_scanned(table)
    if scanned is not None:
        progress(f"-- {scan_note(scanned)}")
    emit(format_result(table, args.format))
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    """Generate a synthetic file of a dataset whose real data cannot be shared."""
    from pathlib import Path

    from lakeguard.samples import absences

    path = absences.write(Path(args.out), args.rows, args.seed)
    emit(f"wrote {args.rows} synthetic {args.dataset} rows (seed {args.seed}) to {path}")
    return EXIT_OK


def _add_query_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    query = sub.add_parser(
        "query", help="run Athena SQL on the refined zone",
        description="The same Athena SQL offline (DuckDB over an exported lake, --local) and in "
                    "AWS (Athena). Tables live in the database `refined`.",
        epilog="examples:\n"
               "  lakeguard query --local demo-out 'SELECT * FROM refined.anomalies LIMIT 5'\n"
               "  lakeguard query --local demo-out --format csv "
               "'SELECT team, count(*) AS n FROM refined.team_matches GROUP BY team'\n"
               "  lakeguard query --workgroup lakeguard-dev --database lakeguard_dev_refined "
               "'SELECT 1'")
    query.add_argument("sql", help="Athena SQL, e.g. SELECT * FROM refined.anomalies LIMIT 5")
    where = query.add_mutually_exclusive_group()
    where.add_argument("--local", metavar="DIR", type=existing_dir,
                       help="an exported lake (e.g. demo-out); default: Athena in AWS")
    where.add_argument("--lake", action="store_true",
                       help="the embedded lake `lakeguard local up` keeps running (its current "
                            "snapshots, through DuckDB)")
    add_state_dir_option(query, "with --lake: the lake's state folder")
    add_format_option(query)
    query.add_argument("--workgroup", help="Athena workgroup (stack output AthenaWorkgroupName)")
    query.add_argument("--database", help="Glue database (stack output GlueDatabaseName)")
    query.set_defaults(func=cmd_query)


def _add_sample_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sample = sub.add_parser(
        "sample", help="generate a realistic synthetic raw file",
        description="Write a synthetic raw file of a dataset whose real data cannot be shared: "
                    "the same seed gives the same file.",
        epilog="examples:\n"
               "  lakeguard sample --dataset absences --rows 10000 --seed 1 --out absences.csv")
    sample.add_argument("--dataset", default="absences", choices=("absences",),
                        help="dataset to generate")
    sample.add_argument("--rows", type=positive_int, default=10_000, help="rows to generate")
    sample.add_argument("--seed", type=int, default=1, help="same seed, same file")
    sample.add_argument("--out", required=True, help="file to write")
    sample.set_defaults(func=cmd_sample)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = Parser(prog="lakeguard", description=__doc__.split("\n\n")[0], epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"lakeguard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_local_parsers(sub)
    _add_query_parser(sub)
    _add_sample_parser(sub)
    add_ops_parsers(sub)
    add_models_parser(sub)
    add_ledger_parser(sub)
    return with_global_options(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakeguard`` console script; returns the exit code."""
    return run_main(build_parser, argv)
