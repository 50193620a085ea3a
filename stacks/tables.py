"""The lake's Iceberg tables, created and evolved at deploy time by a custom resource.

CloudFormation's own ``AWS::Glue::Table`` can declare an Iceberg table but neither its
partition spec nor its evolution, and a second description of the tables would drift
from the contracts. So the tables are the contracts' (:mod:`lakeguard.tables.spec`), made
by the very code the embedded lake runs: a Lambda-backed custom resource
(``lambdas/tables.py`` -> :mod:`lakeguard.tables.deploy`) called on every deploy whose
contracts changed (its ``TablesDigest`` property is their digest). Deleting the stack
leaves the tables and their data, as the buckets are left in prod.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from lakeguard.tables import CLEAN, REFINED, all_tables
from lakeguard.tables.lock import check_against_lock
from lakeguard.tables.spec import digest
from stacks.access import bucket_arn, bucket_name
from stacks.layer import RUNTIME
from stacks.nag import acknowledge, acknowledge_function
from stacks.policies import ServiceRole, arn, resolve
from stacks.settings import EnvironmentSettings

#: Glue actions a table writer needs: read the table and commit a new metadata version.
COMMIT_ACTIONS = ("glue:GetDatabase", "glue:GetTable", "glue:UpdateTable")


def table_arns(databases: dict[str, str], zone: str | None = None) -> list[str]:
    """ARN templates of the catalog, the databases and each table (of one zone, or all)."""
    specs = [s for s in all_tables() if zone is None or s.zone == zone]
    used = sorted({databases[s.zone] for s in specs})
    return [arn("glue", "catalog"), *(arn("glue", f"database/{d}") for d in used),
            *(arn("glue", f"table/{databases[s.zone]}/{s.name}") for s in specs)]


def allow_table_commits(role: ServiceRole, databases: dict[str, str], *,
                        write: bool = True, zone: str | None = None) -> None:
    """Read (and with ``write``, commit to) the Iceberg tables in the Glue catalog."""
    actions = COMMIT_ACTIONS if write else ("glue:GetDatabase", "glue:GetTable")
    role.access.allow("CommitIcebergTables" if write else "ReadIcebergTables", actions,
                      table_arns(databases, zone))


class LakeTables(Construct):
    """The custom resource that makes every clean and refined table an Iceberg table."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 databases: dict[str, str], key: kms.IKey, code: lambda_.Code,
                 dependency_layer: lambda_.ILayerVersion) -> None:
        check_against_lock()  # a dropped or retyped column stops the synth, in one line
        super().__init__(scope, construct_id)
        prefix = settings.name_prefix
        role = ServiceRole(self, "Role", service="lambda.amazonaws.com",
                           description="lakeguard tables: create and evolve the Iceberg tables")
        log_group = logs.LogGroup(self, "Logs", retention=settings.log_retention,
                                  encryption_key=key, removal_policy=settings.cdk_removal_policy)
        role.access.allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                          [log_group.log_group_arn])
        role.allow_tracing()
        role.access.allow("CreateAndEvolveTables", [*COMMIT_ACTIONS, "glue:CreateTable"],
                          table_arns(databases))
        specs = all_tables()
        role.access.allow(
            "WriteTableMetadata", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [f"{bucket_arn(prefix, s.zone)}/{s.name}/metadata/*" for s in specs],
            wildcard_reason="Iceberg names each metadata version, manifest and manifest list "
            "itself (a sequence number and a UUID) under the table's metadata/ folder")
        role.access.allow("ListZones", ["s3:ListBucket"],
                          [bucket_arn(prefix, CLEAN), bucket_arn(prefix, REFINED)])
        role.access.allow("UseTheLakeKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn])
        self.function = lambda_.Function(
            self, "Function", description="lakeguard: create and evolve the Iceberg tables",
            runtime=RUNTIME, architecture=settings.architecture,
            handler="lambdas.tables.handler", code=code, layers=[dependency_layer],
            role=role.immutable, memory_size=512, timeout=cdk.Duration.minutes(5),
            tracing=lambda_.Tracing.ACTIVE, log_group=log_group)
        role.attach_before(self.function)
        acknowledge(self.function, "HIPAA.Security-LambdaConcurrency",
                    "invoked only by CloudFormation, once per deploy of this stack; reserving "
                    "concurrency would take from a new account's quota, which has none to spare")
        acknowledge_function(self.function, dead_letters=(
            "invoked by CloudFormation for a custom resource, which reports its failure on the "
            "stack (the deploy fails and rolls back): nothing is left to retry from a DLQ"))
        self.resource = cdk.CustomResource(
            self, "Resource", service_token=self.function.function_arn,
            resource_type="Custom::LakeguardTables",
            properties={"CleanDatabase": databases[CLEAN], "RefinedDatabase": databases[REFINED],
                        "CleanBucket": resolve(bucket_name(prefix, CLEAN)),
                        "RefinedBucket": resolve(bucket_name(prefix, REFINED)),
                        "TablesDigest": digest(specs)})
