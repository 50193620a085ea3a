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
from lakeguard.ml.anomalies import ANOMALIES_PARTITIONS, ANOMALIES_SCHEMA, ANOMALIES_TABLE
from lakeguard.transforms.refine import output_schema
from stacks.access import bucket_arn
from stacks.policies import ScopedPolicy, arn
from stacks.settings import EnvironmentSettings

#: Where the workgroup writes query results in the athena-results bucket.
RESULTS_FOLDER = "queries/"

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
            ANOMALIES_TABLE, "One row per scored point: value, normal band, score, model.",
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
                    output_location=f"s3://{athena_results.bucket_name}/{RESULTS_FOLDER}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn),
                ),
            ),
        )
        self.analyst_policy = self.analyst_access(settings, [t[0] for t in tables], key)
        cdk.CfnOutput(self, "AnalystPolicyArn", value=self.analyst_policy.managed_policy_arn)
        cdk.CfnOutput(self, "GlueDatabaseName", value=self.database_name)
        cdk.CfnOutput(self, "AthenaWorkgroupName", value=settings.name_prefix)

    def analyst_access(self, settings: EnvironmentSettings, tables: list[str],
                       key: kms.IKey) -> iam.ManagedPolicy:
        """What an analyst needs to query refined tables through the workgroup, and no more.

        Attach it to analysts' roles or SSO permission sets. It grants nothing on raw, clean,
        quarantine or artefacts, nor on the refined bucket's uncommitted ``_staging/``:
        analysts never see a row-level identifier or a run still in flight.
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
                     wildcard_reason="refined keys vary: a table's objects are named per "
                     "source file and partition; Athena reads whole table folders")
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
