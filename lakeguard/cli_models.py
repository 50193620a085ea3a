"""``lakeguard models``: list, show, promote and roll back registered model versions.

It works on a deployed environment (the artefacts bucket named by the stack outputs) and
on a lake exported to disk (``--local demo-out``), through the same registry code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lakeguard.ml import registry
from lakeguard.ml.store import FolderStore, S3Store, Store

_LIST_COLUMNS = ("dataset", "entity", "version", "aliases", "detector", "trigger", "rows",
                 "trained_to", "parent", "created_at")


def _store(args: argparse.Namespace) -> Store:
    if args.local:
        return FolderStore(Path(args.local) / "artefacts")
    from lakeguard.config import Settings
    from lakeguard.deployment import stack_outputs

    return S3Store(Settings.from_outputs(stack_outputs(args.stack_prefix)).artefacts_bucket)


def _list_rows(store: Store, dataset: str | None, entity: str | None) -> list[dict[str, str]]:
    rows = []
    for name, who in registry.entities(store, dataset):
        if entity is not None and who != entity:
            continue
        for v in registry.versions(store, name, who):
            training = v.get("training", {})
            rows.append({
                "dataset": name, "entity": who, "version": v["version"],
                "aliases": ",".join(v["aliases"]), "detector": str(v.get("detector", "")),
                "trigger": str(v.get("trigger", "")), "rows": str(training.get("rows", "")),
                "trained_to": str(training.get("to", "")), "parent": str(v.get("parent") or ""),
                "created_at": str(v.get("created_at", "")),
            })
    return rows


def cmd_models_list(args: argparse.Namespace) -> int:
    """One row per model version, with its aliases and where it came from."""
    import pyarrow as pa

    from lakeguard.query import format_result

    rows = _list_rows(_store(args), args.dataset, args.entity)
    table = pa.table({c: [r[c] for r in rows] for c in _LIST_COLUMNS})
    print(format_result(table, args.format), flush=True)
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:
    """A version's model document, lineage and the entity's alias history, as JSON."""
    store = _store(args)
    marks = registry.aliases(store, args.dataset, args.entity)
    version = marks.get(args.version, args.version) if args.version in registry.ALIASES \
        else args.version
    if version is None:
        print(f"{args.dataset}/{args.entity} has no {args.version}", flush=True)
        return 1
    model = registry.get(store, args.dataset, args.entity, version)
    lineage = registry.lineage(store, args.dataset, args.entity, version)
    shown: dict[str, object] = {"version": version, "model": model.to_json(),
                                "lineage": lineage, "aliases": marks}
    if args.input:
        shown["input"] = _read_input(args, lineage)
    print(json.dumps(shown, indent=2, sort_keys=True, default=str), flush=True)
    return 0


def _read_input(args: argparse.Namespace, lineage: dict[str, object]) -> dict[str, object]:
    """The version's training rows read back from the snapshots its lineage names."""
    from lakeguard.contracts import load_contract
    from lakeguard.ml.inputs import training_rows
    from lakeguard.transforms.refine import output_schema

    contract = load_contract(args.dataset)
    assert contract.model is not None
    schema = output_schema(contract.refined_table(contract.model.table), contract)
    if args.local:
        from lakeguard.tables.export import exported_table

        def load(name: str):  # type: ignore[no-untyped-def]
            return exported_table(Path(args.local), name)
    else:
        from lakeguard.config import Settings
        from lakeguard.deployment import stack_outputs
        from lakeguard.tables import load_table

        settings = Settings.from_outputs(stack_outputs(args.stack_prefix))

        def load(name: str):  # type: ignore[no-untyped-def]
            zone, _, table = name.partition("/")
            return load_table(settings, zone, table)
    rows, found = training_rows(lineage, contract.model, schema, load)
    return {**found, "first": rows.slice(0, 3).to_pylist(), "columns": rows.column_names}


def cmd_models_promote(args: argparse.Namespace) -> int:
    """Make a version (the challenger by default) the champion."""
    store = _store(args)
    version = registry.promote(store, args.dataset, args.entity, args.version,
                               args.reason or "promoted by hand")
    print(f"{args.dataset}/{args.entity}: champion is now {version}", flush=True)
    return 0


def cmd_models_rollback(args: argparse.Namespace) -> int:
    """Give the champion alias back to the previous champion."""
    store = _store(args)
    version = registry.rollback(store, args.dataset, args.entity,
                                args.reason or "rolled back by hand")
    print(f"{args.dataset}/{args.entity}: champion rolled back to {version}", flush=True)
    return 0


def add_models_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lakeguard models ...`` on the top-level sub-command set."""
    models = sub.add_parser("models", help="the model registry: versions, lineage, aliases")
    models_sub = models.add_subparsers(dest="models_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--local", metavar="DIR",
                            help="a lake exported by `lakeguard demo` (e.g. demo-out)")
        parser.add_argument("--stack-prefix", default="lakeguard-dev-",
                            help="name prefix of the deployed stacks (default lakeguard-dev-)")

    listing = models_sub.add_parser("list", help="every model version and its aliases")
    common(listing)
    listing.add_argument("--dataset", help="only this dataset")
    listing.add_argument("--entity", help="only this entity (e.g. Marseille)")
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    listing.set_defaults(func=cmd_models_list)

    show = models_sub.add_parser("show", help="one version's model, lineage and alias history")
    common(show)
    show.add_argument("dataset")
    show.add_argument("entity")
    show.add_argument("version", nargs="?", default=registry.CHAMPION,
                      help="a version id, or champion / challenger (default champion)")
    show.add_argument("--input", action="store_true",
                      help="read the version's training rows back from the table snapshots its "
                           "lineage names, and check their digest")
    show.set_defaults(func=cmd_models_show)

    promote = models_sub.add_parser("promote", help="make a version the champion")
    common(promote)
    promote.add_argument("dataset")
    promote.add_argument("entity")
    promote.add_argument("--version", help="version id (default: the challenger)")
    promote.add_argument("--reason", help="why, recorded in the alias history")
    promote.set_defaults(func=cmd_models_promote)

    rollback = models_sub.add_parser("rollback", help="give champion back to the previous one")
    common(rollback)
    rollback.add_argument("dataset")
    rollback.add_argument("entity")
    rollback.add_argument("--reason", help="why, recorded in the alias history")
    rollback.set_defaults(func=cmd_models_rollback)
