#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c env=dev|prod`` (or ``python app.py``), offline.

No account, region or lookup is needed: stacks are environment-agnostic unless
``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION`` are given by the CLI at deploy time.
"""

import os
import sys

import aws_cdk as cdk

from stacks.catalog import LakeguardCatalogStack
from stacks.monitoring import LakeguardMonitoringStack
from stacks.nag import add_checks
from stacks.orchestration import LakeguardOrchestrationStack
from stacks.processing import LakeguardProcessingStack
from stacks.settings import SettingsError, check_partition, file_context, load_settings
from stacks.storage import LakeguardStorageStack


def build_app(app: cdk.App) -> cdk.App:
    """Add lakeguard's stacks for the environment selected in the app's context."""
    settings = load_settings(app)
    check_partition(os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_REGION"))
    prefix = settings.name_prefix
    storage = LakeguardStorageStack(app, "LakeguardStorageStack", stack_name=f"{prefix}-storage",
                                    settings=settings)
    catalog = LakeguardCatalogStack(
        app, "LakeguardCatalogStack", stack_name=f"{prefix}-catalog", settings=settings,
        refined=storage.buckets["refined"], athena_results=storage.buckets["athena-results"],
        key=storage.key)
    processing = LakeguardProcessingStack(
        app, "LakeguardProcessingStack", stack_name=f"{prefix}-processing", settings=settings,
        buckets=dict(storage.buckets), lake_key=storage.key, database_name=catalog.database_name,
        clean_database_name=catalog.clean_database_name, ledger=storage.ledger)
    processing.add_dependency(catalog)  # its tables custom resource fills the databases
    orchestration = LakeguardOrchestrationStack(
        app, "LakeguardOrchestrationStack", stack_name=f"{prefix}-orchestration",
        settings=settings, functions=dict(processing.functions),
        jobs={"refine": processing.refine_job, "anonymise": processing.anonymise_job},
        raw=storage.buckets["raw"], clean=storage.buckets["clean"],
        key=storage.key, ledger=storage.ledger,
        dependency_layer=processing.dependency_layer)
    monitoring = LakeguardMonitoringStack(
        app, "LakeguardMonitoringStack", stack_name=f"{prefix}-monitoring", settings=settings,
        state_machine=orchestration.state_machine,
        functions={**processing.functions, "ingest": orchestration.ingest,
                   "compact": processing.compaction},
        jobs={"refine": processing.refine_job, "anonymise": processing.anonymise_job},
        dead_letters=orchestration.dead_letters, key=storage.key)
    storage.condition_service_grants()
    monitoring.condition_service_grants()
    for name, value in {"project": "lakeguard", "environment": settings.env,
                        "data-classification": settings.data_classification}.items():
        cdk.Tags.of(app).add(name, value)
    for stack in (c for c in app.node.children if isinstance(c, cdk.Stack)):
        # The same refusal at deploy time, for a template deployed by other means.
        cdk.CfnRule(stack, "CommercialPartitionOnly", assertions=[cdk.CfnRuleAssertion(
            assert_=cdk.Fn.condition_equals(cdk.Aws.PARTITION, "aws"),
            assert_description="lakeguard deploys to the commercial partition 'aws' only")])
    add_checks(app)
    return app


if __name__ == "__main__":
    # Without the CLI, write to cdk.out/ (the CLI passes CDK_OUTDIR itself). cdk.json's
    # context is the base; the CLI's -c values (CDK_CONTEXT_JSON) override it.
    try:
        build_app(cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"),
                          context=file_context())).synth()
    except SettingsError as err:
        sys.exit(f"lakeguard: {err}")
