"""Processing: the pipeline's Lambda functions and the Glue Spark jobs.

Code is packaged without Docker: the Lambda asset is a copy of ``lambdas/``,
``lakeguard/`` and ``datasets/`` with their bytecode; its dependencies come from the lake's
own layer, built from the lock file (:mod:`stacks.layer`); the Glue jobs get ``lakeguard``
and the contracts as an ``--extra-py-files`` zip and pin what they import beyond Glue's
own libraries with ``--additional-python-modules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lakeguard import config
from lakeguard.glue.iceberg import catalog_conf, conf_argument
from lakeguard.pipeline.ledger import DIGEST_INDEX
from lakeguard.tables import CLEAN, REFINED
from stacks.access import (
    LakeLayout,
    ObjectGrant,
    allow_objects,
    bucket_name,
    job_grants,
    stage_grants,
)
from stacks.layer import PYTHON_VERSION, RUNTIME, DependencyLayer, compile_bytecode, read_lock
from stacks.nag import acknowledge, acknowledge_function
from stacks.policies import ServiceRole, arn, resolve
from stacks.settings import PROJECT_ROOT, EnvironmentSettings
from stacks.tables import LakeTables, allow_table_commits

#: What the Glue jobs import beyond Glue 5's preinstalled libraries, pinned to the lock's
#: versions so the jobs run with what the Spark tests ran with.
GLUE_PINNED = ("pyarrow", "numpy", "phonenumberslite")

#: What only runs on a workstation: the command line and what it alone uses (preflight,
#: teardown, deploy-time and query helpers, sample generators), the embedded AWS and the
#: pytest plugin. ``tests/infra`` checks that nothing a packaged module imports is here.
WORKSTATION_ONLY = ("lakeguard/cli", "lakeguard/local", "lakeguard/samples", "lakeguard/doctor.py",
                    "lakeguard/teardown.py", "lakeguard/deployment.py", "lakeguard/query.py",
                    "lakeguard/testing.py", "lakeguard/cachelock.py")

#: What a packaged artefact keeps from the project root (glob rules, last match wins): the
#: handlers, the core and the contracts, without the workstation's tooling. The NAB
#: evaluation tooling is a package of its own, ``lakeguard_eval``, left out with everything
#: else the first rule drops.
_KEEP_ONLY = ["*", ".*", "!lambdas", "!lambdas/**", "!lakeguard", "!lakeguard/**", "!datasets",
              "!datasets/**", "**/__pycache__", "**/*.pyc",
              *(rule for path in WORKSTATION_ONLY for rule in (path, f"{path}/**"))]


#: What the bundler adds to the kept sources, in the asset's hash.
_BYTECODE = f"cpython-{PYTHON_VERSION.replace('.', '')} bytecode, unchecked hashes"


@jsii.implements(cdk.ILocalBundling)
class _CompiledCode:
    """CDK local bundling: copy the kept files, then compile them for the runtime."""

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        cdk.FileSystem.copy_directory(str(PROJECT_ROOT), output_dir,
                                      cdk.CopyOptions(exclude=_KEEP_ONLY,
                                                      ignore_mode=cdk.IgnoreMode.GLOB))
        compile_bytecode(Path(output_dir), "compiling the Lambda code's bytecode")
        return True


def lambda_code() -> lambda_.Code:
    """The one Lambda asset: handlers, the core package and the contracts, compiled.

    Its hash is the kept sources' fingerprint: the bytecode follows from them.
    """
    return lambda_.Code.from_asset(
        str(PROJECT_ROOT), asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=cdk.FileSystem.fingerprint(str(PROJECT_ROOT), exclude=_KEEP_ONLY,
                                              ignore_mode=cdk.IgnoreMode.GLOB,
                                              extra_hash=_BYTECODE),
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=_CompiledCode()))


def glue_modules() -> str:
    """``--additional-python-modules``: the lock's versions of what the jobs import."""
    pins = read_lock()
    return ",".join(f"{name}=={pins[name]}" for name in GLUE_PINNED)


@dataclass(frozen=True)
class StageSpec:
    """Sizing of one stage function, with the reason for it."""

    memory_mb: int
    timeout_s: int
    reason: str


#: Memory and timeout per stage. Clean streams the object in 4 MB batches, so its memory
#: does not grow with the file; objects above lambda_max_bytes are meant for Glue.
STAGES: dict[str, StageSpec] = {
    "validate": StageSpec(256, 30, "head + a 64 KB header probe"),
    "clean": StageSpec(2048, 900, "parses up to lambda_max_bytes in bounded batches"),
    "clean_report": StageSpec(256, 30, "reads the Glue anonymise job's JSON report"),
    "quality": StageSpec(1024, 120, "reads the object's clean Parquet once"),
    "refine": StageSpec(2048, 300, "derives the refined tables from the object's clean rows "
                                   "in memory (at most lambda_max_bytes of raw data)"),
    "check_model": StageSpec(1024, 300, "reads the model table's history"),
    "train": StageSpec(1024, 300, "fits one small model per stale entity"),
    "score": StageSpec(1024, 300, "scores this object's points"),
    "publish": StageSpec(1024, 300, "one Iceberg commit per table: reads the run's rows"),
    "quarantine": StageSpec(512, 300, "copies the raw object, writes its report"),
}

#: The scheduled compaction: not a pipeline stage, but built like one (role, logs, alarms).
COMPACTION = StageSpec(2048, 900, "rewrites up to 256 MiB of small data files per run")

#: Stages that commit to the Iceberg tables, and stages that only read them.
TABLE_WRITERS = ("publish", "quarantine")
TABLE_READERS = ("check_model", "train", "score")

#: Stages that move an object's ledger record (to processing, published, quarantined) or
#: read it, and the item actions each needs. Publish reads the key's other versions (newest
#: wins); publish and quality look published copies up by digest (the digest index).
LEDGER_WRITERS = {
    "validate": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
    "quality": ["dynamodb:Query"],
    "publish": ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"],
    "quarantine": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
}


def allow_ledger(role: ServiceRole, ledger: dynamodb.ITable, lake_key: kms.IKey,
                 actions: list[str]) -> None:
    """Use the object ledger (item writes and queries on that one table and its indexes)."""
    resources = [ledger.table_arn]
    if "dynamodb:Query" in actions:
        resources.append(f"{ledger.table_arn}/index/{DIGEST_INDEX}")
    role.access.allow("WriteTheLedger" if "dynamodb:UpdateItem" in actions else "ReadTheLedger",
                      actions, resources)
    role.access.allow("UseTheLedgerKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
                                          "kms:DescribeKey"], [lake_key.key_arn],
                      conditions={"StringEquals": {
                          "kms:ViaService": f"dynamodb.{cdk.Aws.REGION}.amazonaws.com"}})


class LakeguardProcessingStack(cdk.Stack):
    """One role per function and per job, each allowed only the folders it touches.

    What each role may touch is the table in :mod:`stacks.access`; this stack turns it
    into one managed policy per role (:mod:`stacks.policies`).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 buckets: dict[str, s3.IBucket], lake_key: kms.IKey, database_name: str,
                 clean_database_name: str, ledger: dynamodb.ITable, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings, self.lake_key, self.database_name = settings, lake_key, database_name
        self.databases = {CLEAN: clean_database_name, REFINED: database_name}
        self.layout = LakeLayout.from_contracts()
        # The pseudonymisation key: generated at deploy time (never in code or template),
        # readable by the anonymisers' roles only. Its own KMS key: whoever may decrypt the
        # lake's data may not decrypt the secret.
        self.secret_encryption_key = kms.Key(
            self, "PseudonymKeyEncryption", enable_key_rotation=True,
            description="lakeguard: encrypts the pseudonymisation secret only",
            removal_policy=settings.cdk_removal_policy)
        self.pseudonym_secret = secretsmanager.Secret(
            self, "PseudonymKey",
            description="lakeguard HMAC key for pseudonyms (read by the anonymisers only)",
            encryption_key=self.secret_encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True),
            removal_policy=settings.cdk_removal_policy,
        )
        rotation = ("rotating the key changes every pseudonym, which breaks joins with "
                    "earlier output: it is a planned re-pseudonymisation run by an operator "
                    "(README, 'Rotating the pseudonymisation key'), not a timer")
        acknowledge(self.pseudonym_secret, "AwsSolutions-SMG4", rotation)
        acknowledge(self.pseudonym_secret, "HIPAA.Security-SecretsManagerRotationEnabled",
                    rotation)
        environment = {
            config.ENV_RAW_BUCKET: buckets["raw"].bucket_name,
            config.ENV_CLEAN_BUCKET: buckets["clean"].bucket_name,
            config.ENV_REFINED_BUCKET: buckets["refined"].bucket_name,
            config.ENV_QUARANTINE_BUCKET: buckets["quarantine"].bucket_name,
            config.ENV_ARTEFACTS_BUCKET: buckets["artefacts"].bucket_name,
            config.ENV_GLUE_DATABASE: database_name,
            config.ENV_CLEAN_DATABASE: clean_database_name,
            config.ENV_LEDGER_TABLE: ledger.table_name,
            config.ENV_LAMBDA_MAX_BYTES: str(settings.lambda_max_bytes),
            "POWERTOOLS_SERVICE_NAME": "lakeguard",
        }
        code = lambda_code()
        self.dependency_layer = DependencyLayer(
            self, "Dependencies", architecture=settings.lambda_architecture,
            native=bool(self.node.try_get_context(config.CONTEXT_NATIVE_LAYER))).layer
        # The Iceberg tables exist before any stage commits to them.
        self.tables = LakeTables(self, "Tables", settings=settings, databases=self.databases,
                                 key=lake_key, code=code, dependency_layer=self.dependency_layer)
        grants = stage_grants(self.layout)
        self.roles: dict[str, ServiceRole] = {}
        self.functions = {name: self.stage_function(name, spec, code, environment, grants[name])
                          for name, spec in STAGES.items()}
        self.allow_secret(self.roles["clean"])
        self.functions["clean"].add_environment(config.ENV_PSEUDONYM_SECRET,
                                                self.pseudonym_secret.secret_arn)
        for stage in TABLE_WRITERS:  # Publish commits; Quarantine reverts a half-done Publish
            allow_table_commits(self.roles[stage], self.databases)
        for stage in TABLE_READERS:  # the model's history and its training snapshot
            allow_table_commits(self.roles[stage], self.databases, write=False, zone=REFINED)
        # the quality gate reads the published clean rows' natural keys, and rewrites the
        # run's branch of the clean table without rows other keys published
        allow_table_commits(self.roles["quality"], self.databases, zone=CLEAN)
        self.allow_model_metrics(self.roles["check_model"])
        self.compaction = self.stage_function("compact", COMPACTION, code, environment,
                                              grants["compact"], reserve=False)
        allow_table_commits(self.roles["compact"], self.databases)
        self.compaction_schedule = self.schedule_compaction(self.compaction)
        for stage, actions in LEDGER_WRITERS.items():
            allow_ledger(self.roles[stage], ledger, lake_key, actions)
        # Glue writes logs, bookmarks and temporary S3 data with the lake's key.
        self.glue_security = glue.CfnSecurityConfiguration(
            self, "GlueSecurity", name=f"{settings.name_prefix}-glue",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=lake_key.key_arn)],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=lake_key.key_arn),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=lake_key.key_arn),
            ),
        )
        jobs = job_grants(self.layout)
        self.refine_job = self.glue_job("refine", jobs["refine"])
        allow_table_commits(self.roles["refine_job"], self.databases, zone=REFINED)
        allow_table_commits(self.roles["refine_job"], self.databases, write=False, zone=CLEAN)
        self.anonymise_job = self.glue_job(
            "anonymise", jobs["anonymise"], list_raw_under=self.layout.raw_prefixes,
            arguments={"--secret_id": self.pseudonym_secret.secret_arn})
        self.allow_secret(self.roles["anonymise_job"])
        allow_table_commits(self.roles["anonymise_job"], self.databases, zone=CLEAN)
        cdk.CfnOutput(self, "RefineJobName", value=self.refine_job.ref)
        cdk.CfnOutput(self, "AnonymiseJobName", value=self.anonymise_job.ref)
        cdk.CfnOutput(self, "PseudonymSecretArn", value=self.pseudonym_secret.secret_arn)

    def allow_lake_key(self, role: ServiceRole, grants: tuple[ObjectGrant, ...]) -> None:
        """Decrypt what the role reads; data keys only for roles that write."""
        writes = any("s3:PutObject" in g.actions for g in grants)
        actions = ["kms:Decrypt", "kms:GenerateDataKey"] if writes else ["kms:Decrypt"]
        role.access.allow("UseTheLakeKey", actions, [self.lake_key.key_arn])

    def allow_secret(self, role: ServiceRole) -> None:
        """Read the pseudonymisation key: the anonymisers only."""
        role.access.allow("ReadThePseudonymKey", ["secretsmanager:GetSecretValue"],
                          [self.pseudonym_secret.secret_arn])
        role.access.allow(
            "DecryptThePseudonymKey", ["kms:Decrypt"], [self.secret_encryption_key.key_arn],
            conditions={"StringEquals": {
                "kms:ViaService": f"secretsmanager.{cdk.Aws.REGION}.amazonaws.com"}})

    def allow_model_metrics(self, role: ServiceRole) -> None:
        """Publish drift and alert-rate metrics, in the models' namespace only."""
        role.access.allow(
            "PublishModelMetrics", ["cloudwatch:PutMetricData"], ["*"],
            wildcard_reason="CloudWatch PutMetricData supports no resource-level permission "
            "(IAM service authorization reference); the cloudwatch:namespace condition keeps "
            f"it to {config.MODEL_METRICS_NAMESPACE}",
            conditions={"StringEquals": {"cloudwatch:namespace": config.MODEL_METRICS_NAMESPACE}})

    def schedule_compaction(self, function: lambda_.IFunction) -> scheduler.CfnSchedule:
        """Compact every table's small files on the calendar (``compaction_schedule``).

        Scheduler invokes the function asynchronously; a failed run changes no row and the
        next one tries again, so failures go to the function's error alarm, not a queue.
        """
        role = ServiceRole(self, "CompactionSchedulerRole", service="scheduler.amazonaws.com",
                           description="lakeguard scheduled compaction")
        role.access.allow("InvokeCompaction", ["lambda:InvokeFunction"], [function.function_arn])
        schedule = scheduler.CfnSchedule(
            self, "Compaction", name=f"{self.settings.name_prefix}-compaction",
            description="Compact the small data files of every Iceberg table",
            schedule_expression=self.settings.compaction_schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
                mode="FLEXIBLE", maximum_window_in_minutes=60),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn, role_arn=role.role.role_arn,
                input='{"compaction": "scheduled"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=2)),
        )
        role.attach_before(schedule)
        return schedule

    def stage_function(self, name: str, spec: StageSpec, code: lambda_.Code,
                       environment: dict[str, str], grants: tuple[ObjectGrant, ...], *,
                       reserve: bool = True) -> lambda_.Function:
        """A pipeline stage function: handler ``lambdas.<name>.handler``, its own role.

        ``reserve`` gives it the environment's reserved concurrency; a scheduled function
        that runs once a night needs none.
        """
        title = name.title().replace("_", "")
        log_group = logs.LogGroup(
            self, f"{title}Logs",
            retention=self.settings.log_retention,
            encryption_key=self.lake_key,  # stage logs name runs and datasets: encrypted at rest
            removal_policy=self.settings.cdk_removal_policy,
        )
        role = self.roles[name] = ServiceRole(
            self, f"{title}Role", service="lambda.amazonaws.com",
            description=f"lakeguard stage {name}")
        role.access.allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                          [log_group.log_group_arn])
        role.allow_tracing()
        allow_objects(role.access, self.settings.name_prefix, grants)
        self.allow_lake_key(role, grants)
        function = lambda_.Function(
            self, f"{title}Function",
            description=f"lakeguard pipeline stage {name}: {spec.reason}",
            runtime=RUNTIME,
            architecture=self.settings.architecture,
            handler=f"lambdas.{name}.handler",
            code=code,
            layers=[self.dependency_layer],
            role=role.immutable,
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_s),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            # When set, a burst of files cannot take the account's whole Lambda concurrency:
            # beyond it, Step Functions retries the throttled task with backoff (see the ASL).
            # Off in dev: a new account's quota is too low to reserve any (README, Deploy).
            reserved_concurrent_executions=(self.settings.stage_reserved_concurrency
                                            if reserve else None),
        )
        role.attach_before(function)
        if not reserve:
            acknowledge(function, "HIPAA.Security-LambdaConcurrency",
                        "runs once per schedule tick: it needs no share of the account's "
                        "concurrency reserved")
            acknowledge_function(function, dead_letters=(
                "invoked asynchronously by its schedule; a failed run changes no row and the "
                "next tick tries again, and its errors raise the function's alarm"))
            return function
        if self.settings.stage_reserved_concurrency is None:
            acknowledge(function, "HIPAA.Security-LambdaConcurrency",
                        "stage_reserved_concurrency is off in this environment (cdk.json): a "
                        "new account's concurrency quota leaves none to reserve; a burst is "
                        "throttled by the account limit and the state machine retries it")
        acknowledge_function(function, dead_letters=(
            "invoked synchronously by the pipeline state machine, which retries it and then "
            "quarantines the object with the error: a DLQ only serves asynchronous invokes"))
        return function

    def glue_job(self, name: str, grants: tuple[ObjectGrant, ...], *,
                 list_raw_under: tuple[str, ...] = (),
                 arguments: dict[str, str] | None = None) -> glue.CfnJob:
        """A Glue 5 Spark job running ``glue_jobs/<name>.py`` with lakeguard on its path."""
        script = PROJECT_ROOT / "glue_jobs" / f"{name}.py"
        if not script.is_file():
            # Fail here, naming the file: the asset error CDK would give names neither job nor fix.
            raise FileNotFoundError(f"Glue job {name!r}: script {script} is missing; write "
                                    f"glue_jobs/{name}.py (a thin main() over lakeguard)")
        title = name.title()
        script_asset = assets.Asset(self, f"{title}Script", path=str(script))
        library = assets.Asset(self, f"{title}Library", path=str(PROJECT_ROOT),
                               exclude=[*_KEEP_ONLY, "lambdas", "lambdas/**"])
        role = self.roles[f"{name}_job"] = ServiceRole(
            self, f"{title}JobRole", service="glue.amazonaws.com",
            description=f"lakeguard Glue job {name}")
        role.access.allow(
            "ReadOwnCode", ["s3:GetObject"],
            [f"arn:{cdk.Aws.PARTITION}:s3:::{a.s3_bucket_name}/{a.s3_object_key}"
             for a in (script_asset, library)])
        allow_objects(role.access, self.settings.name_prefix, grants,
                      list_raw_under=list_raw_under)
        role.access.allow("UseTheLakeKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                          [self.lake_key.key_arn])
        role.access.allow(
            "WriteJobLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                             "logs:AssociateKmsKey"],
            [arn("logs", "log-group:/aws-glue/jobs/*")],
            wildcard_reason="Glue names its job log groups and streams itself "
            "(/aws-glue/jobs/output, /error, /logs-v2 and, under a security configuration, "
            "/aws-glue/jobs/<configuration>-role/<role>/...); one stream per run")
        # Glue 5 writes driver output and errors to <prefix>/output and <prefix>/error: the
        # groups exist before the first run, with the lake's retention and key, instead of
        # Glue's account-wide /aws-glue/jobs/* groups that never expire.
        log_prefix = f"/aws-glue/jobs/{self.settings.name_prefix}-{name}"
        for stream in ("output", "error"):
            logs.LogGroup(self, f"{title}Job{stream.title()}Logs",
                          log_group_name=f"{log_prefix}/{stream}",
                          retention=self.settings.log_retention, encryption_key=self.lake_key,
                          removal_policy=self.settings.cdk_removal_policy)
        role.access.allow(
            "PutJobMetrics", ["cloudwatch:PutMetricData"], ["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
            wildcard_reason="CloudWatch PutMetricData supports no resource-level permission; "
            "the condition keeps the job to the Glue namespace")
        return glue.CfnJob(
            self, f"{title}Job",
            name=f"{self.settings.name_prefix}-{name}",
            role=role.role.role_arn,
            glue_version="5.0",
            security_configuration=self.glue_security.ref,
            worker_type="G.1X",
            number_of_workers=2,
            max_retries=0,  # the state machine retries, with backoff and jitter
            timeout=60,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=20),
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script_asset.s3_object_url),
            default_arguments={
                "--job-language": "python",
                "--enable-metrics": "true",
                "--custom-logGroup-prefix": log_prefix,
                "--extra-py-files": library.s3_object_url,
                "--additional-python-modules": glue_modules(),
                # Spark's own Iceberg, as Glue 5 ships it, over the Glue Data Catalog
                "--datalake-formats": "iceberg",
                "--conf": conf_argument(catalog_conf(
                    f"s3://{resolve(bucket_name(self.settings.name_prefix, REFINED))}/")),
                "--clean_database": self.databases[CLEAN],
                "--refined_database": self.databases[REFINED],
                **(arguments or {}),
            },
        )
