"""``lakeguard models``: list, show, promote and roll back registered model versions.

It works on a deployed environment (the artefacts bucket named by the stack outputs) and
on a lake exported to disk (``--local demo-out``), through the same registry code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lakeguard.cli.support import (
    EXIT_OK,
    add_format_option,
    add_stack_prefix_option,
    dataset_name,
    emit,
    existing_dir,
    resolve_name,
)
from lakeguard.exceptions import UsageError
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


def _entity(store: Store, dataset: str | None, entity: str) -> str:
    """``entity`` as the registry spells it (any case given), or an error naming the known ones."""
    return resolve_name(entity, sorted({who for _, who in registry.entities(store, dataset)}),
                        f"entity with a model{f' in {dataset}' if dataset else ''}")


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _list_rows(store: Store, dataset: str | None, entity: str | None) -> list[dict[str, Any]]:
    rows = []
    for name, who in registry.entities(store, dataset):
        if entity is not None and who != entity:
            continue
        for v in registry.versions(store, name, who):
            training = v.get("training", {})
            rows.append({
                "dataset": name, "entity": who, "version": v["version"],
                "aliases": ",".join(v["aliases"]), "detector": str(v.get("detector", "")),
                "trigger": str(v.get("trigger", "")), "rows": _number(training.get("rows")),
                "trained_to": str(training.get("to", "")), "parent": str(v.get("parent") or ""),
                "created_at": str(v.get("created_at", "")),
            })
    return rows


def cmd_models_list(args: argparse.Namespace) -> int:
    """One row per model version, with its aliases and where it came from."""
    import pyarrow as pa

    from lakeguard.query import format_result

    store = _store(args)
    entity = None if args.entity is None else _entity(store, args.dataset, args.entity)
    rows = _list_rows(store, args.dataset, entity)
    table = pa.table({c: pa.array([r[c] for r in rows], pa.int64() if c == "rows" else pa.string())
                      for c in _LIST_COLUMNS})
    emit(format_result(table, args.format))
    return EXIT_OK


def cmd_models_show(args: argparse.Namespace) -> int:
    """A version's model document, lineage and the entity's alias history, as JSON."""
    store = _store(args)
    entity = _entity(store, args.dataset, args.entity)
    marks = registry.aliases(store, args.dataset, entity)
    version = marks.get(args.version, args.version) if args.version in registry.ALIASES \
        else args.version
    if version is None:
        raise UsageError(f"{args.dataset}/{entity} has no {args.version}; `lakeguard models list "
                         f"--dataset {args.dataset} --entity {entity}` lists its versions")
    model = registry.get(store, args.dataset, entity, version)
    lineage = registry.lineage(store, args.dataset, entity, version)
    shown: dict[str, object] = {"version": version, "model": model.to_json(),
                                "lineage": lineage, "aliases": marks}
    if args.input:
        shown["input"] = _read_input(args, lineage)
    emit(json.dumps(shown, indent=2, sort_keys=True, default=str))
    return EXIT_OK


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
    entity = _entity(store, args.dataset, args.entity)
    version = registry.promote(store, args.dataset, entity, args.version,
                               args.reason or "promoted by hand")
    emit(f"{args.dataset}/{entity}: champion is now {version}")
    return EXIT_OK


def cmd_models_rollback(args: argparse.Namespace) -> int:
    """Give the champion alias back to the previous champion."""
    store = _store(args)
    entity = _entity(store, args.dataset, args.entity)
    version = registry.rollback(store, args.dataset, entity, args.reason or "rolled back by hand")
    emit(f"{args.dataset}/{entity}: champion rolled back to {version}")
    return EXIT_OK


def _common(parser: argparse.ArgumentParser, *, entity_required: bool) -> None:
    parser.add_argument("--local", metavar="DIR", type=existing_dir,
                        help="a lake exported by `lakeguard demo` (e.g. demo-out); "
                             "default: the deployed environment")
    add_stack_prefix_option(parser)
    parser.add_argument("--dataset", metavar="NAME", type=dataset_name, required=entity_required,
                        help="dataset contract name, e.g. matches" if entity_required
                        else "only this dataset")
    parser.add_argument("--entity", metavar="NAME", required=entity_required,
                        help="entity, e.g. Marseille (any case)" if entity_required
                        else "only this entity, e.g. Marseille (any case)")


def add_models_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lakeguard models ...`` on the top-level sub-command set."""
    models = sub.add_parser("models", help="the model registry: versions, lineage, aliases",
                            description="List, show, promote and roll back model versions, in "
                                        "AWS or in an exported lake (--local DIR).")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="COMMAND")

    listing = models_sub.add_parser(
        "list", help="every model version and its aliases",
        description="One row per model version: aliases, detector, what triggered its training, "
                    "the rows it was trained on, its parent.",
        epilog="examples:\n  lakeguard models list --local demo-out --entity marseille\n"
               "  lakeguard models list --dataset matches --format json")
    _common(listing, entity_required=False)
    add_format_option(listing)
    listing.set_defaults(func=cmd_models_list)

    show = models_sub.add_parser(
        "show", help="one version's model, lineage and alias history (JSON)",
        description="Print one JSON document: the version's model, its lineage (the table "
                    "snapshots it was trained on) and the entity's alias history.",
        epilog="examples:\n"
               "  lakeguard models show --local demo-out --dataset matches --entity Marseille\n"
               "  lakeguard models show --dataset matches --entity Lyon --version challenger --input")
    _common(show, entity_required=True)
    show.add_argument("--version", default=registry.CHAMPION,
                      help="a version id, or champion / challenger")
    show.add_argument("--input", action="store_true",
                      help="read the version's training rows back from the table snapshots its "
                           "lineage names, and check their digest")
    show.set_defaults(func=cmd_models_show)

    promote = models_sub.add_parser(
        "promote", help="make a version the champion",
        description="Give the champion alias to a version (the challenger unless --version).",
        epilog="examples:\n  lakeguard models promote --dataset matches --entity Marseille "
               "--reason 'reviewed'")
    _common(promote, entity_required=True)
    promote.add_argument("--version", help="version id (default: the challenger)")
    promote.add_argument("--reason", help="why, recorded in the alias history")
    promote.set_defaults(func=cmd_models_promote)

    rollback = models_sub.add_parser(
        "rollback", help="give champion back to the previous one",
        description="Give the champion alias back to the version that held it before.",
        epilog="examples:\n  lakeguard models rollback --dataset matches --entity Marseille")
    _common(rollback, entity_required=True)
    rollback.add_argument("--reason", help="why, recorded in the alias history")
    rollback.set_defaults(func=cmd_models_rollback)
