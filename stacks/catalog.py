"""Catalog: Glue database, refined tables from the contracts, and the Athena workgroup.

Partitions are explicit (Publish adds them): no crawler guesses a schema.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pyarrow as pa
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakeguard.contracts import list_contracts, load_contract
from lakeguard.ml.anomalies import ANOMALIES_PARTITIONS, ANOMALIES_SCHEMA
from lakeguard.transforms.refine import output_schema
from stacks.settings import EnvironmentSettings

_GLUE_TYPES = {
    pa.string(): "string", pa.int64(): "bigint", pa.int32(): "int", pa.float64(): "double",
    pa.bool_(): "boolean", pa.date32(): "date",
}


def glue_type(arrow_type: pa.DataType, column: str) -> str:
    """Glue/Athena type of an Arrow type; refuse what the catalog cannot describe."""
    try:
        return _GLUE_TYPES[arrow_type]
    except KeyError as err:
        raise TypeError(f"column {column!r}: no Glue type for Arrow {arrow_type}; "
                        "extend stacks/catalog.py _GLUE_TYPES") from err


def table_input(name: str, description: str, schema: pa.Schema, partitions: tuple[str, ...],
                location: str) -> glue.CfnTable.TableInputProperty:
    """A Parquet table whose columns come from an Arrow schema."""
    columns = [glue.CfnTable.ColumnProperty(name=f.name, type=glue_type(f.type, f.name))
               for f in schema if f.name not in partitions]
    keys = [glue.CfnTable.ColumnProperty(name=p, type="string") for p in partitions]
    return glue.CfnTable.TableInputProperty(
        name=name, description=description, table_type="EXTERNAL_TABLE",
        parameters={"classification": "parquet", "EXTERNAL": "TRUE"},
        partition_keys=keys,
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=columns, location=location,
            input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            serde_info=glue.CfnTable.SerdeInfoProperty(
                serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde."
                                      "ParquetHiveSerDe"),
        ),
    )


class LakeguardCatalogStack(cdk.Stack):
    """Glue database, one table per refined table of every contract, Athena workgroup."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 refined: s3.IBucket, athena_results: s3.IBucket, key: kms.IKey,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.database_name = f"{settings.name_prefix.replace('-', '_')}_refined"
        database = glue.CfnDatabase(
            self, "RefinedDatabase", catalog_id=cdk.Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description="lakeguard refined zone: analytics tables, no direct identifiers"),
        )
        tables: list[tuple[str, str, pa.Schema, tuple[str, ...]]] = [(
            "anomalies", "One row per scored point: value, normal band, score, model.",
                   ANOMALIES_SCHEMA, ANOMALIES_PARTITIONS)]
        for name in list_contracts():
            contract = load_contract(name)
            for refined_table in contract.refined:
                tables.append((refined_table.table, refined_table.description,
                               output_schema(refined_table, contract),
                               refined_table.partition_by))
        for name, description, schema, partitions in tables:
            table = glue.CfnTable(
                self, f"Table{name.title().replace('_', '')}", catalog_id=cdk.Aws.ACCOUNT_ID,
                database_name=self.database_name,
                table_input=table_input(name, description, schema, partitions,
                                        f"s3://{refined.bucket_name}/{name}/"),
            )
            table.node.add_dependency(database)
        self.workgroup = athena.CfnWorkGroup(
            self, "Workgroup", name=settings.name_prefix, state="ENABLED",
            description="lakeguard analysts: results encrypted, scan cutoff per query",
            recursive_delete_option=settings.destroy_on_delete,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=settings.athena_bytes_scanned_cutoff,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{athena_results.bucket_name}/queries/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn),
                ),
            ),
        )
        self.analyst_policy = self.analyst_access(settings, refined, athena_results, key)
        cdk.CfnOutput(self, "AnalystPolicyArn", value=self.analyst_policy.managed_policy_arn)
        cdk.CfnOutput(self, "GlueDatabaseName", value=self.database_name)
        cdk.CfnOutput(self, "AthenaWorkgroupName", value=settings.name_prefix)

    def analyst_access(self, settings: EnvironmentSettings, refined: s3.IBucket,
                       athena_results: s3.IBucket, key: kms.IKey) -> iam.ManagedPolicy:
        """What an analyst needs to query refined tables through the workgroup, and no more.

        Attach it to analysts' roles or SSO permission sets. It grants nothing on raw, clean,
        quarantine or artefacts: analysts never see a row-level identifier.
        """
        region, account = cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
        catalog = f"arn:aws:glue:{region}:{account}"
        return iam.ManagedPolicy(
            self, "AnalystAccess", managed_policy_name=f"{settings.name_prefix}-analyst",
            description="lakeguard analysts: Athena on refined tables only",
            statements=[
                iam.PolicyStatement(
                    sid="QueryThroughTheWorkgroup",
                    actions=["athena:StartQueryExecution", "athena:GetQueryExecution",
                             "athena:GetQueryResults", "athena:StopQueryExecution",
                             "athena:GetWorkGroup"],
                    resources=[f"arn:aws:athena:{region}:{account}:workgroup/"
                               f"{settings.name_prefix}"]),
                iam.PolicyStatement(
                    sid="ReadTheRefinedCatalog",
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables",
                             "glue:GetPartition", "glue:GetPartitions"],
                    resources=[f"{catalog}:catalog", f"{catalog}:database/{self.database_name}",
                               f"{catalog}:table/{self.database_name}/*"]),
                iam.PolicyStatement(
                    sid="ReadRefinedData",
                    actions=["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[refined.bucket_arn, refined.arn_for_objects("*")]),
                iam.PolicyStatement(
                    sid="WriteQueryResults",
                    actions=["s3:GetObject", "s3:PutObject", "s3:ListBucket",
                             "s3:GetBucketLocation", "s3:AbortMultipartUpload"],
                    resources=[athena_results.bucket_arn,
                               athena_results.arn_for_objects("queries/*")]),
                iam.PolicyStatement(
                    sid="UseTheLakeKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn]),
            ],
        )
