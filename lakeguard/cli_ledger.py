"""``lakeguard ledger``: what became of every raw object version, and proof of the accounting.

Works on a deployed environment (the ledger table and buckets named by the stack outputs)
and on a lake exported to disk (``--local demo-out``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lakeguard.config import Settings
from lakeguard.pipeline.ledger import STATES, LedgerEntry

_COLUMNS = ("dataset", "key", "version_id", "state", "reason", "outputs", "updated_at")


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
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2), flush=True)
        return 0
    table = pa.table({
        "dataset": [e.dataset or "(unrouted)" for e in entries],
        "key": [e.key for e in entries], "version_id": [e.version_id for e in entries],
        "state": [e.state for e in entries], "reason": [(e.reason or "")[:80] for e in entries],
        "outputs": [str(len(e.outputs)) for e in entries],
        "updated_at": [e.updated_at for e in entries],
    })
    print(format_result(table, "table"), flush=True)
    return 0


def cmd_ledger_check(args: argparse.Namespace) -> int:
    """Exit 0 only when every raw version is final and every zone object is owned."""
    from lakeguard.pipeline.ledger_check import check_deployed, check_export

    result = check_export(Path(args.local)) if args.local else check_deployed(_settings(args))
    if args.json:
        print(json.dumps(result.to_json(), indent=2), flush=True)
    else:
        print("\n".join(result.lines()), flush=True)
        print("OK: every raw object version is accounted for" if result.ok
              else "NOT OK: see the objects above", flush=True)
    return 0 if result.ok else 1


def add_ledger_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lakeguard ledger [check]`` on the top-level sub-command set."""
    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--local", metavar="DIR",
                            help="a lake exported by `lakeguard demo` (e.g. demo-out)")
        parser.add_argument("--stack-prefix", default="lakeguard-dev-",
                            help="name prefix of the deployed stacks (default lakeguard-dev-)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    ledger = sub.add_parser("ledger", help="the object ledger: what became of every raw object")
    common(ledger)
    ledger.add_argument("--dataset", help="only this dataset")
    ledger.add_argument("--state", choices=STATES, help="only entries in this state")
    ledger.set_defaults(func=cmd_ledger)
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=False)
    checking = ledger_sub.add_parser(
        "check", help="prove every raw object version was published or quarantined")
    common(checking)
    checking.set_defaults(func=cmd_ledger_check)
