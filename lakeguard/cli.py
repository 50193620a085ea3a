"""The ``lakeguard`` command line: demo, query, and running files through the local lake."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lakeguard.cli_ledger import add_ledger_parser
from lakeguard.cli_models import add_models_parser
from lakeguard.cli_nab import add_nab_parser
from lakeguard.config import ENV_ATHENA_WORKGROUP, ENV_GLUE_DATABASE
from lakeguard.exceptions import LakeguardError

if TYPE_CHECKING:
    import boto3

    from lakeguard.erasure import ErasureReport
    from lakeguard.local.runtime import LocalLake, RunResult

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = PROJECT_ROOT / "data" / "football" / "ligue1"
CDK_JSON = PROJECT_ROOT / "cdk.json"


def _print(message: str) -> None:
    print(message, flush=True)


def _results_table(results: Sequence[RunResult]) -> str:
    def num(value: int | None) -> str:
        return "" if value is None else str(value)

    rows = [("file", "status", "outcome", "rows in", "rows out", "rejected", "warned",
             "suppressed", "k", "seconds", "reason")]
    for r in results:
        rows.append((r.file, r.status, r.outcome, num(r.rows_in), num(r.rows_out),
                     num(r.rows_rejected), num(r.rows_warned), num(r.rows_suppressed),
                     num(r.k_achieved), f"{r.seconds:.1f}", (r.reason or "")[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_files(files: Sequence[Path], prefix: str, export: Path | None,
              pseudonym_key: str | None = None,
              then: Callable[[LocalLake], None] | None = None) -> list[RunResult]:
    """Push files one by one through the embedded pipeline, printing progress."""
    from lakeguard.local.runtime import LocalLake

    results = []
    lake = LocalLake(pseudonym_key=pseudonym_key).start(progress=lambda m: _print(f"-- {m}"))
    try:
        _print(f"-- dropping {len(files)} file(s) into s3://{lake.bucket('raw')}/{prefix}")
        for index, path in enumerate(files, 1):
            result = lake.drop(path, prefix)
            results.append(result)
            counts = "" if result.rows_in is None else f"{result.rows_in} -> {result.rows_out} rows"
            if result.k_achieved is not None:
                counts += f" (k={result.k_achieved}, {result.rows_suppressed} suppressed)"
            if result.rows_warned:
                counts += f" ({result.rows_warned} warned)"
            _print(f"[{index:>3}/{len(files)}] {path.name:<28} {result.status:<9} "
                   f"{result.outcome:<11} {counts:<22} {result.seconds:5.1f} s"
                   + (f"  {result.reason}" if result.reason else ""))
        if then is not None:
            then(lake)
        if export is not None:
            for zone in ("raw", "clean", "refined", "quarantine", "artefacts"):
                shutil.rmtree(export / zone, ignore_errors=True)
            lake.export(export, results)
            _print(f"-- zones exported to {export}/")
    finally:
        lake.stop()
    return results


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the football demo end to end and write the report."""
    from lakeguard.query import format_result
    from lakeguard.report import entity_anomalies, write_report

    files = sorted(Path(args.data).glob("*.csv"))
    if not files:
        raise LakeguardError(f"no season files in {args.data}")
    out = Path(args.out)
    results = run_files(files, "matches/", out)
    _print("\n" + _results_table(results))
    anomalies = entity_anomalies(out, args.entity)
    _print(f"\nAnomalies for {args.entity} (net goals outside the team's normal band):")
    _print(format_result(anomalies, "table"))
    paths = write_report(out, args.entity)
    _print(f"\nreport: {paths.html}\nplot:   {paths.png}")
    return 0 if all(r.outcome == "published" for r in results) else 1


def cmd_query(args: argparse.Namespace) -> int:
    """Answer Athena SQL locally (DuckDB over an export) or through Athena."""
    from lakeguard.query import format_result, query_athena, query_local

    if args.local:
        table = query_local(Path(args.local), args.sql)
    else:
        workgroup = args.workgroup or os.environ.get(ENV_ATHENA_WORKGROUP)
        database = args.database or os.environ.get(ENV_GLUE_DATABASE)
        if not workgroup or not database:
            raise LakeguardError(
                "querying Athena needs --workgroup and --database (or the environment "
                f"variables {ENV_ATHENA_WORKGROUP} and {ENV_GLUE_DATABASE}); the stack outputs "
                "AthenaWorkgroupName and GlueDatabaseName give them. Use --local DIR offline."
            )
        table = query_athena(args.sql, workgroup=workgroup, database=database)
    _print(format_result(table, args.format))
    return 0


def _eraser(args: argparse.Namespace) -> Callable[[LocalLake], None]:
    """Erase ``args.erase`` from the embedded lake once its files have run."""

    def erase_from(lake: LocalLake) -> None:
        from lakeguard.config import Settings
        from lakeguard.erasure import erase

        print_erasure(erase(args.dataset, args.erase, Settings.from_outputs(lake.outputs),
                            lake.outputs["PseudonymSecretArn"], dry_run=args.dry_run))
    return erase_from


def cmd_local_run(args: argparse.Namespace) -> int:
    """Push files through the embedded pipeline; exit 0 only if every file was published."""
    from lakeguard.contracts import load_contract

    contract = load_contract(args.dataset)
    files = [f for given in map(Path, args.files)
             for f in (sorted(p for p in given.iterdir() if p.is_file()) if given.is_dir()
                       else [given])]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise LakeguardError(f"no such file(s): {', '.join(missing)}")
    if not files:
        raise LakeguardError(f"no files in {', '.join(args.files)}")
    key = args.pseudonym_key_file.read_text(encoding="utf-8").strip() \
        if args.pseudonym_key_file else None
    results = run_files(files, contract.raw.prefix, Path(args.export) if args.export else None,
                        key, _eraser(args) if args.erase else None)
    _print("\n" + _results_table(results))
    published = sum(r.outcome == "published" for r in results)
    _print(f"\n{published} published, {len(results) - published} quarantined")
    return 0 if published == len(results) else 1


def cmd_sample(args: argparse.Namespace) -> int:
    """Generate a synthetic file of a dataset whose real data cannot be shared."""
    from lakeguard.samples import absences

    path = absences.write(Path(args.out), args.rows, args.seed)
    _print(f"wrote {args.rows} synthetic {args.dataset} rows (seed {args.seed}) to {path}")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase one data subject from a deployed environment and print what was removed."""
    from lakeguard.config import Settings
    from lakeguard.deployment import stack_outputs
    from lakeguard.erasure import erase

    outputs = stack_outputs(args.stack_prefix)
    report = erase(args.dataset, args.subject, Settings.from_outputs(outputs),
                   outputs["PseudonymSecretArn"], dry_run=args.dry_run)
    print_erasure(report)
    return 0


def print_erasure(report: ErasureReport) -> None:
    """What an erasure removed, or would remove: keys and counts, never the identifier."""
    verb = "would erase" if report.dry_run else "erased"
    _print(f"{verb} subject {report.pseudonym} (key version {report.key_version}, "
           f"{len(report.pseudonyms)} key version(s) searched) from {report.dataset}:")
    _print(f"  clean rows removed:          {report.clean_rows_removed} "
           f"in {len(report.clean_objects)} object(s)")
    _print(f"  others' rows under k now:    {report.clean_rows_suppressed} (suppressed)")
    _print(f"  names redacted in comments:  {report.free_text_cells_redacted} cell(s)")
    _print(f"  refined objects recomputed:  {len(report.refined_objects)}")
    _print(f"  anomaly objects re-scored:   {len(report.anomaly_objects)}")
    _print(f"  raw object versions deleted: {len(report.raw_versions_deleted)}")
    _print(f"  quarantined objects deleted: {len(report.quarantine_objects_deleted)}")
    _print(f"  ledger reasons purged:       {len(report.ledger_reasons_purged)}")
    for key in (*report.clean_objects, *report.refined_objects, *report.anomaly_objects,
                *report.raw_versions_deleted, *report.quarantine_objects_deleted):
        _print(f"    {key}")
    _print(f"  audit entry:                 {'(none: dry run)' if report.dry_run else report.audit}")


def _environment(env: str) -> dict[str, object]:
    """An environment's settings from cdk.json (read as data: no CDK needed)."""
    import json

    settings: dict[str, dict[str, object]] = json.loads(CDK_JSON.read_text(encoding="utf-8"))[
        "context"]["lakeguard:environments"]
    if env not in settings:
        raise LakeguardError(f"cdk.json has no environment {env!r} (known: "
                             f"{', '.join(sorted(settings))})")
    return settings[env]


def _session(args: argparse.Namespace) -> boto3.session.Session:
    import boto3

    return boto3.session.Session(profile_name=args.profile, region_name=args.region)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check what a deployment of the environment needs; one line per check."""
    from lakeguard.doctor import concurrency_needed, run_checks
    from stacks.layer import build_layer
    from stacks.processing import STAGES

    settings = _environment(args.env)
    session = _session(args)
    reserved = settings.get("stage_reserved_concurrency")
    findings = run_checks(
        session, session.region_name,
        concurrency=concurrency_needed(reserved if isinstance(reserved, int) else None,
                                       len(STAGES)),
        build_layer=lambda: build_layer(str(settings["lambda_architecture"])))
    for finding in findings:
        _print(finding.line())
    problems = sum(not f.ok for f in findings)
    _print(f"{problems} problem(s)" if problems else f"ready to deploy {args.env}")
    return 1 if problems else 0


def cmd_teardown(args: argparse.Namespace) -> int:
    """Empty the environment's buckets (every version and delete marker) before cdk destroy."""
    from lakeguard.teardown import empty_lake

    settings = _environment(args.env)
    if settings.get("removal_policy") != "destroy":
        raise LakeguardError(f"environment {args.env} retains its data on destroy "
                             "(removal_policy 'retain' in cdk.json): teardown refuses to empty it")
    if not args.yes:
        raise LakeguardError(f"teardown deletes every object of the {settings['name_prefix']}-* "
                             "buckets, personal data included; pass --yes to proceed")
    removed = empty_lake(str(settings["name_prefix"]), _session(args),
                         progress=lambda line: _print(f"-- {line}"))
    _print(f"emptied {len(removed)} bucket(s), {sum(removed.values())} versions and markers")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="lakeguard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the football demo on the embedded AWS")
    demo.add_argument("--data", default=str(DEMO_DATA), help="folder of season CSV files")
    demo.add_argument("--out", default="demo-out", help="where to export zones and the report")
    demo.add_argument("--entity", default="Marseille", help="team whose anomalies to show")
    demo.set_defaults(func=cmd_demo)

    query = sub.add_parser("query", help="run Athena SQL on the refined zone")
    query.add_argument("sql", help="Athena SQL, e.g. SELECT * FROM refined.anomalies LIMIT 5")
    query.add_argument("--local", metavar="DIR", help="an exported lake (e.g. demo-out)")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--workgroup", help="Athena workgroup (stack output AthenaWorkgroupName)")
    query.add_argument("--database", help="Glue database (stack output GlueDatabaseName)")
    query.set_defaults(func=cmd_query)

    sample = sub.add_parser("sample", help="generate a realistic synthetic raw file")
    sample.add_argument("dataset", choices=("absences",), help="dataset to generate")
    sample.add_argument("--rows", type=int, default=10_000, help="rows to generate")
    sample.add_argument("--seed", type=int, default=1, help="same seed, same file")
    sample.add_argument("--out", required=True, help="file to write")
    sample.set_defaults(func=cmd_sample)

    erase = sub.add_parser("erase", help="remove one data subject from every zone (GDPR art. 17)")
    erase.add_argument("--dataset", required=True, help="dataset contract name, e.g. absences")
    erase.add_argument("--subject", required=True,
                       help="the subject's identifier as producers send it (e.g. their NIR)")
    erase.add_argument("--stack-prefix", default="lakeguard-dev-",
                       help="name prefix of the deployed stacks (default lakeguard-dev-)")
    erase.add_argument("--dry-run", action="store_true",
                       help="list what would be removed, recomputed and purged; change nothing")
    erase.set_defaults(func=cmd_erase)

    add_models_parser(sub)
    add_ledger_parser(sub)

    doctor = sub.add_parser("doctor", help="check an AWS account and region before deploying",
                            description="Credentials, region and partition, CDK bootstrap, "
                            "Lambda concurrency quota, dependency layer: one line each, with "
                            "the fix when it fails. Exit 1 when something would fail.")
    teardown = sub.add_parser("teardown", help="empty a dev environment's buckets for cdk destroy",
                              description="Deletes every object version and delete marker "
                              "(all pages) of the environment's buckets, after switching off "
                              "access logging, so that `cdk destroy` can delete them.")
    teardown.add_argument("--yes", action="store_true", help="confirm the deletion")
    for command, func in ((doctor, cmd_doctor), (teardown, cmd_teardown)):
        command.add_argument("--env", default="dev", help="environment in cdk.json (default dev)")
        command.add_argument("--region", help="AWS region (default: the profile's)")
        command.add_argument("--profile", help="AWS named profile (default: the environment's)")
        command.set_defaults(func=func)

    local = sub.add_parser("local", help="the embedded AWS")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    run = local_sub.add_parser("run", help="push files through the embedded pipeline")
    run.add_argument("--dataset", required=True, help="dataset contract name, e.g. matches")
    run.add_argument("--export", metavar="DIR", help="export the zones to DIR afterwards")
    run.add_argument("--pseudonym-key-file", metavar="FILE", type=Path,
                     help="fix the pseudonymisation key to FILE's content, so pseudonyms are "
                          "the same from run to run (default: LAKEGUARD_LOCAL_PSEUDONYM_KEY, "
                          "else a random key per start, as in AWS)")
    run.add_argument("--erase", metavar="NIR",
                     help="after the files, erase this data subject from the embedded lake")
    run.add_argument("--dry-run", action="store_true",
                     help="with --erase: list what would change, change nothing")
    run.add_argument("files", nargs="+",
                     help="raw files (or folders of them) to drop into the raw bucket")
    run.set_defaults(func=cmd_local_run)

    add_nab_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakeguard`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except LakeguardError as err:
        print(f"lakeguard: error: {err}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
