"""Processing: the pipeline's Lambda functions and the Glue Spark refine job.

Code is packaged without Docker: the Lambda asset is a plain copy of ``lambdas/``,
``lakeguard/`` and ``datasets/``; pandas/pyarrow and Powertools come from the AWS-managed
layers; the Glue job gets ``lakeguard`` and the contracts as an ``--extra-py-files`` zip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lakeguard import config
from stacks.settings import PROJECT_ROOT, EnvironmentSettings

#: What a packaged artefact keeps from the project root (glob rules, last match wins).
_KEEP_ONLY = ["*", ".*", "!lambdas", "!lambdas/**", "!lakeguard", "!lakeguard/**", "!datasets",
              "!datasets/**", "**/__pycache__", "**/*.pyc", "lakeguard/local", "lakeguard/local/**"]


def lambda_code() -> lambda_.Code:
    """The one Lambda asset: handlers, the core package and the contracts."""
    return lambda_.Code.from_asset(str(PROJECT_ROOT), exclude=_KEEP_ONLY)


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
    "check_model": StageSpec(1024, 300, "reads the model table's history"),
    "train": StageSpec(1024, 300, "fits one small model per stale entity"),
    "score": StageSpec(1024, 300, "scores this object's points"),
    "publish": StageSpec(512, 300, "copies staged objects, adds partitions"),
    "quarantine": StageSpec(512, 300, "copies the raw object, writes its report"),
}


class LakeguardProcessingStack(cdk.Stack):
    """One role per function and per job, each granted only the zones it touches."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 buckets: dict[str, s3.IBucket], key: kms.IKey, database_name: str,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings, self.key = settings, key
        environment = {
            config.ENV_RAW_BUCKET: buckets["raw"].bucket_name,
            config.ENV_CLEAN_BUCKET: buckets["clean"].bucket_name,
            config.ENV_REFINED_BUCKET: buckets["refined"].bucket_name,
            config.ENV_QUARANTINE_BUCKET: buckets["quarantine"].bucket_name,
            config.ENV_ARTEFACTS_BUCKET: buckets["artefacts"].bucket_name,
            config.ENV_GLUE_DATABASE: database_name,
            config.ENV_LAMBDA_MAX_BYTES: str(settings.lambda_max_bytes),
            "POWERTOOLS_SERVICE_NAME": "lakeguard",
        }
        code = lambda_code()
        self.layers = [
            lambda_.LayerVersion.from_layer_version_arn(self, "PandasLayer",
                                                        settings.pandas_layer_arn),
            lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer",
                                                        settings.powertools_layer_arn),
        ]
        self.functions = {name: self.stage_function(name, spec, code, environment)
                          for name, spec in STAGES.items()}
        # The pseudonymisation key: generated at deploy time (never in code or template),
        # readable by the clean stage's role only. Not rotated automatically: a new key
        # version gives new pseudonyms, so rotation is a planned re-pseudonymisation.
        # Its own KMS key: whoever may decrypt the lake's data may not decrypt the secret.
        secret_key = kms.Key(self, "PseudonymKeyEncryption", enable_key_rotation=True,
                             description="lakeguard: encrypts the pseudonymisation secret only",
                             removal_policy=settings.cdk_removal_policy)
        self.pseudonym_secret = secretsmanager.Secret(
            self, "PseudonymKey",
            description="lakeguard HMAC key for pseudonyms (read by the clean stage only)",
            encryption_key=secret_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True),
            removal_policy=settings.cdk_removal_policy,
        )
        self.pseudonym_secret.grant_read(self.functions["clean"])
        self.functions["clean"].add_environment(config.ENV_PSEUDONYM_SECRET,
                                                self.pseudonym_secret.secret_arn)
        reads = {"validate": ["raw"], "clean": ["raw"], "clean_report": ["clean"],
                 "quality": ["clean"],
                 "check_model": ["refined", "artefacts"], "train": ["refined", "artefacts"],
                 "score": ["refined", "artefacts"], "publish": ["clean", "refined"],
                 "quarantine": ["raw"]}
        writes = {"clean": ["clean"], "score": ["refined"], "train": ["artefacts"],
                  "publish": ["clean", "refined", "artefacts"],
                  "quarantine": ["quarantine", "clean", "refined"]}
        for name, function in self.functions.items():
            for zone in reads.get(name, []):
                buckets[zone].grant_read(function)
            for zone in writes.get(name, []):
                buckets[zone].grant_read_write(function)
        catalog_arn = f"arn:aws:glue:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        self.functions["publish"].add_to_role_policy(iam.PolicyStatement(
            actions=["glue:GetTable", "glue:CreatePartition", "glue:BatchCreatePartition",
                     "glue:GetPartition"],
            resources=[f"{catalog_arn}:catalog", f"{catalog_arn}:database/{database_name}",
                       f"{catalog_arn}:table/{database_name}/*"],
        ))
        # Glue writes logs, bookmarks and temporary S3 data with the lake's key.
        self.glue_security = glue.CfnSecurityConfiguration(
            self, "GlueSecurity", name=f"{settings.name_prefix}-glue",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn)],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.key_arn),
            ),
        )
        self.refine_job, _ = self.glue_job("refine", reads=[buckets["clean"]],
                                           writes=[buckets["refined"]], key=key)
        self.anonymise_job, anonymiser = self.glue_job(
            "anonymise", reads=[buckets["raw"]], writes=[buckets["clean"]], key=key,
            arguments={"--secret_id": self.pseudonym_secret.secret_arn})
        self.pseudonym_secret.grant_read(anonymiser)
        cdk.CfnOutput(self, "RefineJobName", value=self.refine_job.ref)
        cdk.CfnOutput(self, "AnonymiseJobName", value=self.anonymise_job.ref)
        cdk.CfnOutput(self, "PseudonymSecretArn", value=self.pseudonym_secret.secret_arn)

    def stage_function(self, name: str, spec: StageSpec, code: lambda_.Code,
                       environment: dict[str, str]) -> lambda_.Function:
        """A pipeline stage function: handler ``lambdas.<name>.handler``."""
        log_group = logs.LogGroup(
            self, f"{name.title().replace('_', '')}Logs",
            retention=self.settings.log_retention,
            encryption_key=self.key,  # stage logs name runs and datasets: encrypted at rest
            removal_policy=self.settings.cdk_removal_policy,
        )
        return lambda_.Function(
            self, f"{name.title().replace('_', '')}Function",
            description=f"lakeguard pipeline stage {name}: {spec.reason}",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=f"lambdas.{name}.handler",
            code=code,
            layers=self.layers,
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_s),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            # A burst of files must not take the account's whole Lambda concurrency: beyond
            # this, Step Functions retries the throttled task with backoff (see the ASL).
            reserved_concurrent_executions=self.settings.stage_concurrency,
        )

    def glue_job(self, name: str, *, reads: list[s3.IBucket], writes: list[s3.IBucket],
                 key: kms.IKey, arguments: dict[str, str] | None = None,
                 ) -> tuple[glue.CfnJob, iam.Role]:
        """A Glue 5 Spark job running ``glue_jobs/<name>.py`` with lakeguard on its path."""
        script = PROJECT_ROOT / "glue_jobs" / f"{name}.py"
        if not script.is_file():
            # Fail here, naming the file: the asset error CDK would give names neither job nor fix.
            raise FileNotFoundError(f"Glue job {name!r}: script {script} is missing; write "
                                    f"glue_jobs/{name}.py (a thin main() over lakeguard)")
        script_asset = assets.Asset(self, f"{name.title()}Script", path=str(script))
        library = assets.Asset(self, f"{name.title()}Library", path=str(PROJECT_ROOT),
                               exclude=[*_KEEP_ONLY, "lambdas", "lambdas/**"])
        role = iam.Role(self, f"{name.title()}JobRole",
                        assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                        description=f"lakeguard Glue job {name}")
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSGlueServiceRole"))
        script_asset.grant_read(role)
        library.grant_read(role)
        for bucket in reads:
            bucket.grant_read(role)
        for bucket in writes:
            bucket.grant_read_write(role)
        key.grant_encrypt_decrypt(role)
        role.add_to_policy(iam.PolicyStatement(  # to write its logs with the security config
            actions=["logs:AssociateKmsKey"],
            resources=[f"arn:aws:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:"
                       "/aws-glue/jobs/*"]))
        job = glue.CfnJob(
            self, f"{name.title()}Job",
            name=f"{self.settings.name_prefix}-{name}",
            role=role.role_arn,
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
                "--enable-continuous-cloudwatch-log": "true",
                "--extra-py-files": library.s3_object_url,
                **(arguments or {}),
            },
        )
        return job, role

