"""Operating a deployed environment: erase, compact, redrive, reprocess, doctor, teardown."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from lakeguard.cli.support import (
    EXIT_OK,
    EXIT_PROBLEMS,
    PROJECT_ROOT,
    add_format_option,
    add_stack_prefix_option,
    dataset_name,
    emit,
    progress,
    utc_date,
)
from lakeguard.exceptions import UsageError

if TYPE_CHECKING:
    import boto3

    from lakeguard.erasure import ErasureReport
    from lakeguard.pipeline.rerun import Rerun

CDK_JSON = PROJECT_ROOT / "cdk.json"


def print_erasure(report: ErasureReport, fmt: str = "table",
                  out: Callable[[str], None] = emit) -> None:
    """What an erasure removed, or would remove: keys and counts, never the identifier."""
    if fmt == "json":
        out(json.dumps(dataclasses.asdict(report), indent=2, sort_keys=True))
        return
    verb = "would erase" if report.dry_run else "erased"
    lines = [
        f"{verb} subject {report.pseudonym} (key version {report.key_version}, "
        f"{len(report.pseudonyms)} key version(s) searched) from {report.dataset}:",
        f"  clean rows removed:          {report.clean_rows_removed} "
        f"in {len(report.clean_objects)} object(s)",
        f"  others' rows under k now:    {report.clean_rows_suppressed} (suppressed)",
        f"  names redacted in comments:  {report.free_text_cells_redacted} cell(s)",
        f"  refined objects recomputed:  {len(report.refined_objects)}",
        f"  anomaly objects re-scored:   {len(report.anomaly_objects)}",
        f"  raw object versions deleted: {len(report.raw_versions_deleted)}",
        f"  quarantined objects deleted: {len(report.quarantine_objects_deleted)}",
        f"  ledger reasons purged:       {len(report.ledger_reasons_purged)}",
        *(f"    {key}" for key in (*report.clean_objects, *report.refined_objects,
                                   *report.anomaly_objects, *report.raw_versions_deleted,
                                   *report.quarantine_objects_deleted)),
        f"  audit entry:                 {'(none: dry run)' if report.dry_run else report.audit}",
    ]
    for line in lines:
        out(line)


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase one data subject from a deployed environment and print what was removed."""
    from lakeguard.config import Settings
    from lakeguard.deployment import stack_outputs
    from lakeguard.erasure import erase

    outputs = stack_outputs(args.stack_prefix)
    report = erase(args.dataset, args.subject, Settings.from_outputs(outputs),
                   outputs["PseudonymSecretArn"], dry_run=args.dry_run)
    print_erasure(report, args.format)
    return EXIT_OK


def cmd_compact(args: argparse.Namespace) -> int:
    """Compact the deployed tables' small files now, as the nightly schedule does."""
    from lakeguard.config import Settings
    from lakeguard.deployment import stack_outputs
    from lakeguard.tables.compaction import compact_lake

    settings = Settings.from_outputs(stack_outputs(args.stack_prefix))
    result = compact_lake({"dataset": args.dataset} if args.dataset else {}, settings)
    if args.format == "json":
        emit(json.dumps(result, indent=2, sort_keys=True))
        return EXIT_OK
    for table in result["tables"]:
        emit(f"{table['table']}: " + (
            f"{table['files_before']} small file(s) in {table['partitions']} partition(s) -> "
            f"{table['files_after']} (snapshot {table['snapshot_id']})"
            if table["snapshot_id"] else "nothing to compact"))
    for name in result["busy"]:
        emit(f"{name}: busy (another commit got in first); the next run compacts it")
    return EXIT_OK


def _print_reruns(reruns: list[Rerun], fmt: str, dry_run: bool) -> None:
    if fmt == "json":
        emit(json.dumps([r.to_json() for r in reruns], indent=2, sort_keys=True))
        return
    for r in reruns:
        what = (f"skipped: {r.skipped}" if r.skipped else
                "would re-run" if dry_run else f"re-run as version {r.new_version_id}")
        emit(f"{r.key} (version {r.version_id}, {r.state}): {what}")
    runs = sum(r.skipped is None for r in reruns)
    emit(f"{runs} version(s) {'to re-run' if dry_run else 're-run'}, "
         f"{len(reruns) - runs} skipped" + ("" if dry_run else
                                            "; follow them with `lakeguard ledger`"))


def _redrive_dead_letters(outputs: dict[str, str], args: argparse.Namespace) -> int:
    from lakeguard.pipeline.dead_letters import move_back, waiting

    dead_letters, queue = outputs["IngestDeadLetterQueueUrl"], outputs["IngestQueueUrl"]
    count = waiting(dead_letters) if args.dry_run else move_back(
        dead_letters, queue, progress=lambda line: progress(f"-- {line}"))
    if args.format == "json":
        emit(json.dumps({"dead_letters": count, "dry_run": args.dry_run}))
    else:
        emit(f"{count} dead letter(s) " + ("waiting; run without --dry-run to move them back"
                                           if args.dry_run else "moved back to the ingest queue"))
    return EXIT_OK


def _rerun(args: argparse.Namespace, why: str) -> int:
    from lakeguard.config import Settings
    from lakeguard.deployment import stack_outputs
    from lakeguard.pipeline.ledger import Ledger
    from lakeguard.pipeline.rerun import REDRIVE, plan_redrive, plan_reprocess, rerun

    outputs = stack_outputs(args.stack_prefix)
    if why == REDRIVE and args.dead_letters:
        return _redrive_dead_letters(outputs, args)
    settings = Settings.from_outputs(outputs)
    ledger = Ledger(settings.ledger_table)
    planned = (plan_redrive(ledger, settings, dataset=args.dataset, reason=args.reason,
                            key_prefix=args.key) if why == REDRIVE
               else plan_reprocess(ledger, settings, args.dataset, since=args.since))
    done = planned if args.dry_run else rerun(planned, why, settings, ledger,
                                              progress=lambda line: progress(f"-- {line}"))
    _print_reruns(done, args.format, args.dry_run)
    return EXIT_OK


def cmd_redrive(args: argparse.Namespace) -> int:
    """Re-run quarantined object versions after a fix."""
    return _rerun(args, "redrive")


def cmd_reprocess(args: argparse.Namespace) -> int:
    """Re-run a dataset's current raw objects after a contract change."""
    return _rerun(args, "reprocess")


def _environment(env: str) -> dict[str, object]:
    """An environment's settings from cdk.json (read as data: no CDK needed)."""
    settings: dict[str, dict[str, object]] = json.loads(CDK_JSON.read_text(encoding="utf-8"))[
        "context"]["lakeguard:environments"]
    if env not in settings:
        raise UsageError(f"cdk.json has no environment {env!r} (known: "
                         f"{', '.join(sorted(settings))}); pass one of them to --env")
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
    problems = sum(not f.ok for f in findings)
    if args.format == "json":
        emit(json.dumps({"env": args.env, "ok": not problems,
                         "checks": [dataclasses.asdict(f) for f in findings]}, indent=2))
    else:
        for finding in findings:
            emit(finding.line())
        emit(f"{problems} problem(s)" if problems else f"ready to deploy {args.env}")
    return EXIT_PROBLEMS if problems else EXIT_OK


def cmd_teardown(args: argparse.Namespace) -> int:
    """Empty the environment's buckets (every version and delete marker) before cdk destroy."""
    from lakeguard.teardown import empty_lake

    settings = _environment(args.env)
    if settings.get("removal_policy") != "destroy":
        raise UsageError(f"environment {args.env} retains its data on destroy "
                         "(removal_policy 'retain' in cdk.json): teardown refuses to empty it")
    if not args.yes:
        raise UsageError(f"teardown deletes every object of the {settings['name_prefix']}-* "
                         "buckets, personal data included; pass --yes to proceed")
    removed = empty_lake(str(settings["name_prefix"]), _session(args),
                         progress=lambda line: progress(f"-- {line}"))
    emit(f"emptied {len(removed)} bucket(s), {sum(removed.values())} versions and markers")
    return EXIT_OK


def add_ops_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``erase``, ``compact``, ``redrive``, ``reprocess``, ``doctor`` and ``teardown``."""
    erase = sub.add_parser(
        "erase", help="remove one data subject from every zone (GDPR art. 17)",
        description="Remove the subject's rows from clean, recompute refined and anomalies, "
                    "delete raw versions and quarantined objects holding them, purge ledger "
                    "reasons, and write an audit entry. Prints keys and counts, never the "
                    "identifier.",
        epilog="examples:\n"
               "  lakeguard erase --dataset absences --subject 1850775123456 --dry-run\n"
               "  lakeguard erase --dataset absences --subject 1850775123456 --format json")
    erase.add_argument("--dataset", metavar="NAME", required=True, type=dataset_name,
                       help="dataset contract name, e.g. absences")
    erase.add_argument("--subject", required=True,
                       help="the subject's identifier as producers send it (e.g. their NIR)")
    add_stack_prefix_option(erase)
    erase.add_argument("--dry-run", action="store_true",
                       help="list what would be removed, recomputed and purged; change nothing")
    add_format_option(erase, ("table", "json"))
    erase.set_defaults(func=cmd_erase)

    compact = sub.add_parser(
        "compact", help="rewrite the tables' small files now (the schedule does it nightly)",
        description="For each Iceberg table (of --dataset, or all), rewrite every partition "
                    "holding 5 or more files under 32 MiB into one, in one commit per table. "
                    "No row changes; a table another commit changes meanwhile is left for the "
                    "next run.",
        epilog="examples:\n  lakeguard compact\n  lakeguard compact --dataset absences "
               "--format json")
    compact.add_argument("--dataset", metavar="NAME", type=dataset_name,
                         help="only this dataset's tables (default: every table)")
    add_stack_prefix_option(compact)
    add_format_option(compact, ("table", "json"))
    compact.set_defaults(func=cmd_compact)

    redrive = sub.add_parser(
        "redrive", help="re-run quarantined object versions after a fix",
        description="Copies each chosen quarantined version onto its key in raw: a new version "
                    "that goes through the whole pipeline, as a producer's drop would. The "
                    "earlier entry keeps its state and records the new version (rerun_as). A "
                    "version that is no longer its key's newest is skipped.",
        epilog="examples:\n  lakeguard redrive --dry-run\n"
               "  lakeguard redrive --dataset matches --reason ContractError\n"
               "  lakeguard redrive --key matches/2024-25.csv --format json\n"
               "  lakeguard redrive --dead-letters")
    redrive.add_argument("--dataset", metavar="NAME", type=dataset_name,
                         help="only this dataset's versions")
    redrive.add_argument("--reason", metavar="TEXT",
                         help="only versions whose quarantine reason contains TEXT (any case)")
    redrive.add_argument("--key", metavar="PREFIX", help="only keys starting with PREFIX")
    redrive.add_argument("--dead-letters", action="store_true",
                         help="instead: move the ingest dead-letter queue's records back to the "
                              "ingest queue (after fixing what ingest logged)")
    reprocess = sub.add_parser(
        "reprocess", help="rebuild a dataset's clean and refined rows from raw",
        description="After a contract change: copies the newest version of every key of the "
                    "dataset onto itself, so each runs again under the deployed contract and "
                    "replaces its rows. Raw objects past the contract's retention are gone and "
                    "cannot be reprocessed.",
        epilog="examples:\n  lakeguard reprocess --dataset absences --dry-run\n"
               "  lakeguard reprocess --dataset matches --since 2026-11-01")
    reprocess.add_argument("--dataset", metavar="NAME", type=dataset_name, required=True,
                           help="the dataset to rebuild")
    reprocess.add_argument("--since", metavar="DATE", type=utc_date,
                           help="only objects dropped on or after DATE (ISO, UTC)")
    for command, func in ((redrive, cmd_redrive), (reprocess, cmd_reprocess)):
        command.add_argument("--dry-run", action="store_true",
                             help="list what would be re-run and what is skipped; change nothing")
        add_stack_prefix_option(command)
        add_format_option(command, ("table", "json"))
        command.set_defaults(func=func)

    doctor = sub.add_parser(
        "doctor", help="check an AWS account and region before deploying",
        description="Credentials, region and partition, CDK bootstrap, Lambda concurrency quota, "
                    "dependency layer: one line each, with the fix when it fails. Exit 1 when "
                    "something would fail.",
        epilog="examples:\n  lakeguard doctor --env dev --profile lakeguard-dev")
    add_format_option(doctor, ("table", "json"))
    teardown = sub.add_parser(
        "teardown", help="empty a dev environment's buckets for cdk destroy",
        description="Deletes every object version and delete marker (all pages) of the "
                    "environment's buckets, after switching off access logging, so that "
                    "`cdk destroy` can delete them.",
        epilog="examples:\n  lakeguard teardown --env dev --yes")
    teardown.add_argument("--yes", action="store_true", help="confirm the deletion")
    for command, func in ((doctor, cmd_doctor), (teardown, cmd_teardown)):
        command.add_argument("--env", default="dev", help="environment in cdk.json")
        command.set_defaults(func=func)
