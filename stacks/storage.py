"""Storage: the KMS key and one bucket per zone, all from a single safe-by-default construct."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakeguard.contracts import list_contracts, load_contract
from lakeguard.pipeline.ledger import DIGEST_INDEX
from stacks.access import bucket_name
from stacks.nag import acknowledge
from stacks.policies import resolve, scope_service_statements
from stacks.settings import EnvironmentSettings

#: Zones that hold data (KMS-encrypted with the lake's key).
DATA_ZONES = ("raw", "clean", "refined", "quarantine", "artefacts", "athena-results")

#: Why no bucket replicates (HIPAA.Security-S3BucketReplicationEnabled).
NO_REPLICATION = ("a replica would copy personal data to a second region, where erasure and "
                  "retention in this one would not reach it; durability comes from S3 itself "
                  "(multi-AZ) plus versioning")


class ZoneBucket(Construct):
    """A bucket with the lake's non-negotiable defaults.

    Encryption, versioning, public-access blocking, TLS-only access, enforced ownership and
    access logging are not parameters: a zone cannot opt out of them.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, zone: str,
        settings: EnvironmentSettings, key: kms.IKey, access_logs: s3.IBucket,
        expire_after_days: dict[str, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        rules = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads",
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
            ),
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=cdk.Duration.days(settings.noncurrent_version_days),
            ),
        ]
        # One rule per prefix ("" is the whole bucket). Where rules overlap, S3 applies the
        # shortest expiration, so a whole-bucket fallback never extends a prefix's rule.
        for prefix, days in sorted((expire_after_days or {}).items()):
            name = prefix.strip("/").replace("/", "-") or "all"
            rules.append(s3.LifecycleRule(
                id=f"expire-{name}", prefix=prefix or None, expiration=cdk.Duration.days(days),
            ))
        self.bucket = s3.Bucket(
            self, "Bucket",
            bucket_name=resolve(bucket_name(settings.name_prefix, zone)),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{zone}/",
            lifecycle_rules=rules,
            removal_policy=settings.cdk_removal_policy,
        )
        acknowledge(self.bucket, "HIPAA.Security-S3BucketReplicationEnabled", NO_REPLICATION)


def expirations(settings: EnvironmentSettings) -> dict[str, dict[str, int]]:
    """Days until current objects expire, per zone and key prefix.

    Raw objects live as long as their own contract says (``raw.retention_days``), so a
    90-day dataset is not kept for another dataset's year; objects under no contract's prefix
    (quarantined as unrouted) expire with the longest retention. Quarantined copies expire
    after ``quarantine_retention_days``: long enough to fix and re-drive, not forever.
    """
    contracts = [load_contract(name) for name in list_contracts()]
    raw = {c.raw.prefix: c.raw.retention_days for c in contracts}
    raw[""] = max(raw.values())
    return {"raw": raw, "quarantine": {"": settings.quarantine_retention_days},
            "athena-results": {"": settings.athena_results_days}}


class LakeguardStorageStack(cdk.Stack):
    """The lake's key and buckets; other stacks receive them as typed attributes."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = kms.Key(
            self, "LakeKey", alias=f"alias/{settings.name_prefix}", enable_key_rotation=True,
            description="lakeguard: encrypts every zone, queue, topic and log group",
            removal_policy=settings.cdk_removal_policy,
        )
        # CloudWatch Logs encrypts the state machine's log group with this key.
        self.key.add_to_resource_policy(iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                     "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.amazonaws.com")],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                    f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:"
                                    f"{cdk.Aws.ACCOUNT_ID}:*"}},
        ))
        # EventBridge delivers raw-object events into the KMS-encrypted ingest queue: it must
        # encrypt with this key. Limited to rules of this account (a rule ARN condition would
        # make this stack depend on the orchestration stack, which depends on this one).
        self.key.add_to_resource_policy(iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ))
        # CloudWatch alarms publish to the KMS-encrypted alarm topic (stacks/monitoring.py).
        self.key.add_to_resource_policy(iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ))
        # Server access log delivery cannot write with a customer key: S3-managed encryption.
        # Delivery is granted by bucket policy (feature flag serverAccessLogsUseBucketPolicy),
        # so ACLs stay disabled here too.
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            bucket_name=f"{settings.name_prefix}-access-logs-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365),
                                              noncurrent_version_expiration=cdk.Duration.days(30))],
            removal_policy=settings.cdk_removal_policy,
        )
        acknowledge(self.access_logs, "HIPAA.Security-S3BucketReplicationEnabled",
                    NO_REPLICATION)
        acknowledge(self.access_logs, "HIPAA.Security-S3DefaultEncryptionKMS",
                    "S3 server access log delivery supports SSE-S3 only on the target bucket "
                    "(S3 user guide, 'Enabling Amazon S3 server access logging'); the logs "
                    "hold request metadata, not object contents")
        self.buckets: dict[str, s3.Bucket] = {
            zone: ZoneBucket(self, f"{zone.title().replace('-', '')}Zone", zone=zone,
                             settings=settings, key=self.key, access_logs=self.access_logs,
                             expire_after_days=expirations(settings).get(zone)).bucket
            for zone in DATA_ZONES
        }
        # Producers' drops become EventBridge events without a notification custom resource.
        raw = self.buckets["raw"].node.default_child
        assert isinstance(raw, s3.CfnBucket)
        raw.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)
        if settings.destroy_on_delete:
            # No auto_delete_objects: it is a Lambda-backed custom resource, which cannot run
            # offline (embedded AWS) and needs Docker-free synth anyway. Empty the buckets first.
            cdk.Annotations.of(self).add_info(
                "removal_policy=destroy: buckets are deleted with the stack only when empty "
                "(no auto-delete custom resource); empty them before `cdk destroy`")
        for zone, bucket in self.buckets.items():
            name = "".join(part.title() for part in zone.split("-"))
            cdk.CfnOutput(self, f"{name}BucketName", value=bucket.bucket_name)
        self.ledger = self.ledger_table(settings)
        cdk.CfnOutput(self, "LedgerTableName", value=self.ledger.table_name)

    def condition_service_grants(self) -> None:
        """Scope the key's service grants to this account (see ``scope_service_statements``)."""
        key = self.key.node.default_child
        assert isinstance(key, kms.CfnKey)
        scope_service_statements(key, "KeyPolicy", key.key_policy)

    def ledger_table(self, settings: EnvironmentSettings) -> dynamodb.Table:
        """The object ledger: one item per raw object version (``lakeguard/pipeline/ledger.py``).

        On-demand (a burst of files must not throttle on provisioned capacity), point-in-time
        recovery on, encrypted with the lake's key: it names datasets and file keys.
        """
        table = dynamodb.Table(
            self, "Ledger", table_name=f"{settings.name_prefix}-ledger",
            partition_key=dynamodb.Attribute(name="object", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="version_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=self.key,
            removal_policy=settings.cdk_removal_policy,
        )
        # Published versions by the sha256 of their bytes: a copy under another key is found
        # in one query (lakeguard/pipeline/duplicates.py). Sparse: only published items have it.
        table.add_global_secondary_index(
            index_name=DIGEST_INDEX,
            partition_key=dynamodb.Attribute(name="digest", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL)
        acknowledge(table, "HIPAA.Security-DynamoDBInBackupPlan",
                    "point-in-time recovery (35 days) is the ledger's backup; an AWS Backup plan "
                    "is an account-level choice left to the deploying organisation")
        return table
