"""Orchestration: the pipeline state machine, notifications and the ingest path.

The definition is ``statemachines/pipeline.asl.json`` (written by
``statemachines/definition.py``); objects reach it through
S3 -> EventBridge -> SQS (+DLQ) -> ingest Lambda -> StartExecution.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lakeguard import config
from lakeguard.contracts import load_contract
from lakeguard.contracts.loader import list_contracts
from stacks.layer import RUNTIME
from stacks.nag import acknowledge, acknowledge_function
from stacks.policies import ServiceRole, arn
from stacks.processing import allow_ledger, lambda_code
from stacks.settings import EnvironmentSettings
from statemachines.definition import ASL_PATH, function_placeholder


class LakeguardOrchestrationStack(cdk.Stack):
    """The state machine that runs every raw object, and what starts it."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 functions: dict[str, lambda_.IFunction], jobs: dict[str, glue.CfnJob],
                 raw: s3.IBucket, clean: s3.IBucket, key: kms.IKey,
                 ledger: dynamodb.ITable, dependency_layer: lambda_.ILayerVersion,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topic = sns.Topic(self, "Notifications", master_key=key,
                               display_name="lakeguard pipeline notifications")
        substitutions = {function_placeholder(n): f.function_arn for n, f in functions.items()}
        substitutions |= {f"{name.title()}JobName": job.ref for name, job in jobs.items()}
        substitutions |= {"CleanBucket": clean.bucket_name,
                          "NotificationTopicArn": self.topic.topic_arn}
        log_group = logs.LogGroup(self, "PipelineLogs", encryption_key=key,
                                  retention=settings.log_retention,
                                  removal_policy=settings.cdk_removal_policy)
        pipeline_role = ServiceRole(self, "PipelineRole", service="states.amazonaws.com",
                                    description="lakeguard pipeline state machine")
        pipeline_role.access.allow("InvokeStages", ["lambda:InvokeFunction"],
                                   [f.function_arn for f in functions.values()])
        pipeline_role.access.allow(
            "RunGlueJobs",
            ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
            [arn("glue", f"job/{settings.name_prefix}-{name}") for name in sorted(jobs)])
        pipeline_role.access.allow("Notify", ["sns:Publish"], [self.topic.topic_arn])
        pipeline_role.access.allow("UseTheLakeKey", ["kms:Decrypt", "kms:GenerateDataKey"],
                                   [key.key_arn])
        pipeline_role.access.allow(
            "DeliverLogs",
            ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
             "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
             "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"], ["*"],
            wildcard_reason="the CloudWatch Logs vended-delivery actions Step Functions logging "
            "needs support no resource-level permission (Step Functions developer guide, "
            "'IAM policies for logging to CloudWatch Logs')")
        pipeline_role.allow_tracing()
        self.state_machine = sfn.StateMachine(
            self, "Pipeline",
            state_machine_name=f"{settings.name_prefix}-pipeline",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(ASL_PATH.read_text(encoding="utf-8")),
            definition_substitutions=substitutions,
            role=pipeline_role.immutable,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=False),
            tracing_enabled=True,
        )
        pipeline_role.attach_before(self.state_machine)
        self.retrain_schedules = self.schedule_retraining(settings)

        # Events carry bucket keys (dataset, file names): encrypted with the lake's key, whose
        # policy lets EventBridge encrypt (see stacks/storage.py).
        self.dead_letters = dead_letters = sqs.Queue(
            self, "IngestDeadLetters", encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key, enforce_ssl=True, retention_period=cdk.Duration.days(14))
        self.queue = sqs.Queue(
            self, "IngestQueue", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(180),  # 6x the ingest function's timeout
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dead_letters),
        )
        events.Rule(
            self, "RawObjectCreated",
            description="Every object created in the raw bucket starts the pipeline",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [raw.bucket_name]}}),
            targets=[targets.SqsQueue(self.queue)],
        )
        ingest_role = ServiceRole(self, "IngestRole", service="lambda.amazonaws.com",
                                  description="lakeguard ingest")
        ingest_logs = logs.LogGroup(self, "IngestLogs", retention=settings.log_retention,
                                    encryption_key=key, removal_policy=settings.cdk_removal_policy)
        ingest_role.access.allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                                 [ingest_logs.log_group_arn])
        ingest_role.allow_tracing()
        ingest_role.access.allow(
            "ConsumeRawObjectEvents",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
             "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], [self.queue.queue_arn])
        ingest_role.access.allow("DecryptEvents", ["kms:Decrypt"], [key.key_arn])
        ingest_role.access.allow("StartPipeline", ["states:StartExecution"],
                                 [self.state_machine.state_machine_arn])
        allow_ledger(ingest_role, ledger, key, ["dynamodb:PutItem"])
        self.ingest = ingest = lambda_.Function(
            self, "IngestFunction",
            description="lakeguard ingest: one execution per raw object version",
            runtime=RUNTIME,
            architecture=settings.architecture,
            handler="lambdas.ingest.handler",
            code=lambda_code(),
            layers=[dependency_layer],
            memory_size=256,
            timeout=cdk.Duration.seconds(30),  # ten StartExecution calls at most
            environment={config.ENV_STATE_MACHINE_ARN: self.state_machine.state_machine_arn,
                         config.ENV_LEDGER_TABLE: ledger.table_name},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=ingest_logs,
            role=ingest_role.immutable,
        )
        ingest.add_event_source(sources.SqsEventSource(
            # Ten events per call and at most five calls at once: 50 starts in flight, with
            # no reserved concurrency (which a new account's quota cannot spare).
            self.queue, batch_size=10, report_batch_item_failures=True,
            max_batching_window=cdk.Duration.seconds(1), max_concurrency=5))
        ingest_role.attach_before(ingest)
        acknowledge(ingest, "HIPAA.Security-LambdaConcurrency",
                    "bounded by its SQS event source's maximum concurrency (5), which needs no "
                    "reserved concurrency from the account's quota")
        acknowledge_function(ingest, dead_letters=(
            "invoked by the SQS event source mapping: a message that fails five times goes "
            "to the ingest queue's dead-letter queue (IngestDeadLetters, alarmed), so a "
            "function DLQ would never receive anything"))

        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "NotificationTopicArn", value=self.topic.topic_arn)
        cdk.CfnOutput(self, "IngestQueueUrl", value=self.queue.queue_url)
        cdk.CfnOutput(self, "IngestDeadLetterQueueUrl", value=dead_letters.queue_url)

    def schedule_retraining(self, settings: EnvironmentSettings) -> list[scheduler.CfnSchedule]:
        """One EventBridge Scheduler schedule per modelled dataset: retrain on the calendar.

        Drift catches sudden changes; a calendar retrain catches slow ones that never cross
        a threshold. The challengers it trains are promoted only if they win on held-out data.
        """
        role = ServiceRole(self, "RetrainSchedulerRole", service="scheduler.amazonaws.com",
                           description="lakeguard scheduled retraining")
        role.access.allow("StartRetraining", ["states:StartExecution"],
                          [self.state_machine.state_machine_arn])
        schedules = []
        for name in list_contracts():
            if load_contract(name).model is None:
                continue
            schedule = scheduler.CfnSchedule(
                self, f"Retrain{name.title()}",
                name=f"{settings.name_prefix}-retrain-{name}",
                description=f"Scheduled retraining of the {name} models",
                schedule_expression=settings.retrain_schedule,
                schedule_expression_timezone="UTC",
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
                    mode="FLEXIBLE", maximum_window_in_minutes=60),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=self.state_machine.state_machine_arn,
                    role_arn=role.role.role_arn,
                    input=json.dumps({"retrain": settings.retrain_schedule, "dataset": name}),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=3600, maximum_retry_attempts=3)),
            )
            role.attach_before(schedule)
            schedules.append(schedule)
        return schedules
