"""``lakeguard ledger``: what became of every raw object version, and proof of the accounting.

Works on a deployed environment (the ledger table and buckets named by the stack outputs)
and on a lake exported to disk (``--local demo-out``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lakeguard.cli.support import (
    EXIT_OK,
    EXIT_PROBLEMS,
    STACK_PREFIX,
    add_format_option,
    dataset_name,
    emit,
    existing_dir,
)
from lakeguard.config import Settings
from lakeguard.pipeline.ledger import STATES, LedgerEntry


def _settings(args: argparse.Namespace) -> Settings:
    from lakeguard.deployment import stack_outputs

    return Settings.from_outputs(stack_outputs(args.stack_prefix))


def _entries(args: argparse.Namespace) -> list[LedgerEntry]:
    from lakeguard.pipeline.ledger import Ledger
    from lakeguard.pipeline.ledger_check import read_export

    if args.local:
        return read_export(Path(args.local))[0]
    return Ledger(_settings(args).ledger_table).entries()


def cmd_ledger(args: argparse.Namespace) -> int:
    """List ledger entries, optionally of one dataset or state."""
    import pyarrow as pa

    from lakeguard.query import format_result

    entries = [e for e in _entries(args)
               if (args.dataset is None or e.dataset == args.dataset)
               and (args.state is None or e.state == args.state)]
    if args.format == "json":
        emit(json.dumps([e.to_json() for e in entries], indent=2))
        return EXIT_OK
    reason_width = 80 if args.format == "table" else None  # a table is for people; CSV is whole
    table = pa.table({
        "dataset": pa.array([e.dataset or "(unrouted)" for e in entries], pa.string()),
        "key": pa.array([e.key for e in entries], pa.string()),
        "version_id": pa.array([e.version_id for e in entries], pa.string()),
        "state": pa.array([e.state for e in entries], pa.string()),
        "reason": pa.array([(e.reason or "")[:reason_width] for e in entries], pa.string()),
        "outputs": pa.array([len(e.outputs) for e in entries], pa.int64()),
        "updated_at": pa.array([e.updated_at for e in entries], pa.string()),
    })
    emit(format_result(table, args.format))
    return EXIT_OK


def cmd_ledger_check(args: argparse.Namespace) -> int:
    """Exit 0 only when every raw version is final and every zone object is owned."""
    from lakeguard.pipeline.ledger_check import check_deployed, check_export

    result = check_export(Path(args.local)) if args.local else check_deployed(_settings(args))
    if args.format == "json":
        emit(json.dumps(result.to_json(), indent=2))
    else:
        emit("\n".join(result.lines()))
        emit("OK: every raw object version is accounted for" if result.ok
             else "NOT OK: see the objects above")
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--local`` and ``--stack-prefix``, on ``ledger`` and again on ``ledger check``.

    On ``check`` they have no default (``SUPPRESS``): ``ledger --local DIR check`` keeps
    the DIR given before the sub-command instead of resetting it to the default.
    """
    def default(value: Any) -> dict[str, Any]:
        return {"default": value if top else argparse.SUPPRESS}

    parser.add_argument("--local", metavar="DIR", type=existing_dir,
                        help="a lake exported by `lakeguard demo` (e.g. demo-out); "
                             "default: the deployed environment", **default(None))
    parser.add_argument("--stack-prefix", metavar="PREFIX", help="name prefix of the deployed stacks" + (
                        "" if top else f" (default: {STACK_PREFIX})"), **default(STACK_PREFIX))


def add_ledger_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lakeguard ledger [check]`` on the top-level sub-command set."""
    ledger = sub.add_parser(
        "ledger", help="the object ledger: what became of every raw object",
        description="One entry per raw object version: its state (published, quarantined, ...), "
                    "the reason, the outputs it owns.",
        epilog="examples:\n"
               "  lakeguard ledger --local demo-out --state quarantined\n"
               "  lakeguard ledger --dataset matches --format json | jq '.[].key'\n"
               "  lakeguard ledger --local demo-out check")
    _common(ledger, top=True)
    ledger.add_argument("--dataset", metavar="NAME", type=dataset_name, help="only this dataset")
    ledger.add_argument("--state", choices=STATES, help="only entries in this state")
    add_format_option(ledger)
    ledger.set_defaults(func=cmd_ledger)
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=False, metavar="COMMAND")
    checking = ledger_sub.add_parser(
        "check", help="prove every raw object version was published or quarantined",
        description="Exit 0 only when every raw object version reached a final state and every "
                    "object of the clean and refined zones is owned by one; exit 1 otherwise, "
                    "naming the objects.",
        epilog="examples:\n"
               "  lakeguard ledger check --local demo-out\n"
               "  lakeguard ledger check --stack-prefix lakeguard-prod- --format json")
    _common(checking, top=False)
    add_format_option(checking, ("table", "json"), top=False)
    checking.set_defaults(func=cmd_ledger_check)
