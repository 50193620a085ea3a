#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c env=dev|prod`` (or ``python app.py``), offline.

No account, region or lookup is needed: stacks are environment-agnostic unless
``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION`` are given by the CLI at deploy time.
"""

import os

import aws_cdk as cdk

from stacks.catalog import LakeguardCatalogStack
from stacks.monitoring import LakeguardMonitoringStack
from stacks.nag import add_checks
from stacks.orchestration import LakeguardOrchestrationStack
from stacks.processing import LakeguardProcessingStack
from stacks.settings import file_context, load_settings
from stacks.storage import LakeguardStorageStack


def build_app(app: cdk.App) -> cdk.App:
    """Add lakeguard's stacks for the environment selected in the app's context."""
    settings = load_settings(app)
    prefix = settings.name_prefix
    storage = LakeguardStorageStack(app, "LakeguardStorageStack", stack_name=f"{prefix}-storage",
                                    settings=settings)
    catalog = LakeguardCatalogStack(
        app, "LakeguardCatalogStack", stack_name=f"{prefix}-catalog", settings=settings,
        refined=storage.buckets["refined"], athena_results=storage.buckets["athena-results"],
        key=storage.key)
    processing = LakeguardProcessingStack(
        app, "LakeguardProcessingStack", stack_name=f"{prefix}-processing", settings=settings,
        buckets=dict(storage.buckets), key=storage.key, database_name=catalog.database_name,
        clean_database_name=catalog.clean_database_name, ledger=storage.ledger)
    orchestration = LakeguardOrchestrationStack(
        app, "LakeguardOrchestrationStack", stack_name=f"{prefix}-orchestration",
        settings=settings, functions=dict(processing.functions),
        jobs={"refine": processing.refine_job, "anonymise": processing.anonymise_job},
        raw=storage.buckets["raw"], clean=storage.buckets["clean"],
        refined=storage.buckets["refined"], key=storage.key, ledger=storage.ledger)
    LakeguardMonitoringStack(
        app, "LakeguardMonitoringStack", stack_name=f"{prefix}-monitoring", settings=settings,
        state_machine=orchestration.state_machine,
        functions={**processing.functions, "ingest": orchestration.ingest},
        jobs={"refine": processing.refine_job, "anonymise": processing.anonymise_job},
        dead_letters=orchestration.dead_letters, key=storage.key)
    for name, value in {"project": "lakeguard", "environment": settings.env,
                        "data-classification": settings.data_classification}.items():
        cdk.Tags.of(app).add(name, value)
    add_checks(app)
    return app


if __name__ == "__main__":
    # Without the CLI, write to cdk.out/ (the CLI passes CDK_OUTDIR itself). cdk.json's
    # context is the base; the CLI's -c values (CDK_CONTEXT_JSON) override it.
    build_app(cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"), context=file_context())).synth()
