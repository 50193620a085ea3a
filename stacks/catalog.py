"""Catalog: Glue databases, the Iceberg tables from the contracts, the Athena workgroup.

Tables are Apache Iceberg (v2) tables, made by the :class:`stacks.tables.LakeTables`
custom resource from the contracts; Athena engine v3 reads them as Iceberg (``table_type``
ICEBERG in the catalog) and no partition is ever registered: Iceberg tracks its files.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakeguard.tables import CLEAN, REFINED, all_tables
from stacks.access import bucket_arn
from stacks.policies import ScopedPolicy, arn
from stacks.settings import EnvironmentSettings

#: Where the workgroup writes query results in the athena-results bucket.
RESULTS_FOLDER = "queries/"


class LakeguardCatalogStack(cdk.Stack):
    """Glue databases, the Iceberg tables of every contract, the Athena workgroup."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 refined: s3.IBucket, athena_results: s3.IBucket, key: kms.IKey,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        base = settings.name_prefix.replace("-", "_")
        self.database_name = f"{base}_refined"
        self.clean_database_name = f"{base}_clean"
        descriptions = {
            REFINED: "lakeguard refined zone: analytics tables, no direct identifiers",
            CLEAN: "lakeguard clean zone: anonymised rows (not for analysts)"}
        names = {CLEAN: self.clean_database_name, REFINED: self.database_name}
        for zone in (CLEAN, REFINED):
            glue.CfnDatabase(
                self, f"{zone.title()}Database", catalog_id=cdk.Aws.ACCOUNT_ID,
                database_input=glue.CfnDatabase.DatabaseInputProperty(
                    name=names[zone], description=descriptions[zone]))
        tables = [s.name for s in all_tables() if s.zone == REFINED]
        self.workgroup = athena.CfnWorkGroup(
            self, "Workgroup", name=settings.name_prefix, state="ENABLED",
            description="lakeguard analysts: results encrypted, scan cutoff per query",
            recursive_delete_option=settings.destroy_on_delete,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                # Engine v3 reads (and writes) Iceberg tables natively.
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"),
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=settings.athena_bytes_scanned_cutoff,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{athena_results.bucket_name}/{RESULTS_FOLDER}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn),
                ),
            ),
        )
        self.analyst_policy = self.analyst_access(settings, tables, key)
        cdk.CfnOutput(self, "AnalystPolicyArn", value=self.analyst_policy.managed_policy_arn)
        cdk.CfnOutput(self, "GlueDatabaseName", value=self.database_name)
        cdk.CfnOutput(self, "CleanDatabaseName", value=self.clean_database_name)
        cdk.CfnOutput(self, "AthenaWorkgroupName", value=settings.name_prefix)

    def analyst_access(self, settings: EnvironmentSettings, tables: list[str],
                       key: kms.IKey) -> iam.ManagedPolicy:
        """What an analyst needs to query refined tables through the workgroup, and no more.

        Attach it to analysts' roles or SSO permission sets. It grants nothing on raw, clean,
        quarantine or artefacts, nor on the refined bucket's uncommitted ``_staging/``:
        analysts never see a row-level identifier or a run still in flight. Athena reads an
        Iceberg table's metadata and data files, both under the table's folder.
        """
        prefix = settings.name_prefix
        access = ScopedPolicy(self, "AnalystAccess", managed_policy_name=f"{prefix}-analyst",
                              description="lakeguard analysts: Athena on refined tables only")
        access.allow("QueryThroughTheWorkgroup",
                     ["athena:StartQueryExecution", "athena:GetQueryExecution",
                      "athena:GetQueryResults", "athena:StopQueryExecution",
                      "athena:GetWorkGroup"],
                     [arn("athena", f"workgroup/{prefix}")])
        access.allow("ReadTheRefinedCatalog",
                     ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
                      "glue:GetPartitions"],
                     [arn("glue", "catalog"), arn("glue", f"database/{self.database_name}"),
                      *(arn("glue", f"table/{self.database_name}/{t}") for t in tables)])
        access.allow("ReadRefinedTables", ["s3:GetObject"],
                     [f"{bucket_arn(prefix, 'refined')}/{t}/*" for t in tables],
                     wildcard_reason="refined keys vary: Iceberg names a table's data and "
                     "metadata files itself under the table's folder")
        access.allow("ListRefinedTables", ["s3:ListBucket"], [bucket_arn(prefix, "refined")],
                     conditions={"StringLike": {"s3:prefix": [f"{t}/*" for t in tables]}})
        access.allow("ListQueryResults", ["s3:ListBucket"], [bucket_arn(prefix, "athena-results")])
        access.allow("LocateBuckets", ["s3:GetBucketLocation"],
                     [bucket_arn(prefix, "refined"), bucket_arn(prefix, "athena-results")])
        access.allow("WriteQueryResults",
                     ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                     [f"{bucket_arn(prefix, 'athena-results')}/{RESULTS_FOLDER}*"],
                     wildcard_reason="athena-results keys vary: Athena names each result by "
                     "query execution id")
        access.allow("UseTheLakeKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn])
        return access.policy
