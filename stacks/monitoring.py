"""Monitoring: alarms on every way the pipeline fails, one encrypted topic, a dashboard.

Quarantined objects end their execution FAILED, so the failed-executions alarm is also
the quarantine alarm.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lakeguard.config import PIPELINE_METRICS_NAMESPACE
from lakeguard.pipeline.handler import OUTCOME_METRICS, SERVICE
from stacks.policies import scope_service_statements
from stacks.settings import EnvironmentSettings


class LakeguardMonitoringStack(cdk.Stack):
    """Alarms and a dashboard over the processing and orchestration stacks."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings,
                 state_machine: sfn.IStateMachine, functions: dict[str, lambda_.IFunction],
                 jobs: dict[str, glue.CfnJob], dead_letters: sqs.IQueue, key: kms.IKey,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topic = sns.Topic(self, "Alarms", master_key=key,
                               display_name="lakeguard alarms")
        self.topic.add_to_resource_policy(cdk.aws_iam.PolicyStatement(
            effect=cdk.aws_iam.Effect.DENY, actions=["sns:Publish"],
            principals=[cdk.aws_iam.AnyPrincipal()], resources=[self.topic.topic_arn],
            conditions={"Bool": {"aws:SecureTransport": "false"}}))
        # CloudWatch alarms publish as the cloudwatch.amazonaws.com service: without this
        # statement the topic refuses them and no alarm ever notifies anyone. Scoped to
        # alarms of this account (the key's policy admits the service the same way).
        self.topic.add_to_resource_policy(cdk.aws_iam.PolicyStatement(
            sid="CloudWatchAlarmsOfThisAccount", actions=["sns:Publish"],
            principals=[cdk.aws_iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=[self.topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                        "ArnLike": {"aws:SourceArn": f"arn:{cdk.Aws.PARTITION}:cloudwatch:"
                                    f"{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:alarm:*"}}))
        alarm_action = actions.SnsAction(self.topic)
        five_minutes = cdk.Duration.minutes(5)
        alarms: list[cloudwatch.Alarm] = []

        def alarm(name: str, metric: cloudwatch.IMetric, why: str) -> None:
            created = cloudwatch.Alarm(
                self, name, metric=metric, threshold=0, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=why)
            created.add_alarm_action(alarm_action)
            alarms.append(created)

        alarm("ExecutionsFailed", state_machine.metric_failed(period=five_minutes),
              "An object was quarantined or a stage failed: see the quarantine report.")
        alarm("ObjectsQuarantined", cloudwatch.Metric(
            namespace=PIPELINE_METRICS_NAMESPACE, metric_name=OUTCOME_METRICS["quarantine"],
            dimensions_map={"service": SERVICE}, statistic="Sum", period=five_minutes),
            "Objects were quarantined: their reports are in the quarantine bucket.")
        alarm("ExecutionsTimedOut", state_machine.metric_timed_out(period=five_minutes),
              "A pipeline execution timed out.")
        alarm("IngestDeadLetters", dead_letters.metric_approximate_number_of_messages_visible(
            period=five_minutes), "S3 events could not start an execution (DLQ depth > 0).")
        for name, function in functions.items():
            label = "".join(p.title() for p in name.split("_"))
            alarm(f"{label}Errors", function.metric_errors(period=five_minutes),
                  f"The {name} function raised errors.")
            alarm(f"{label}Throttles", function.metric_throttles(period=five_minutes),
                  f"The {name} function was throttled (reserved concurrency reached).")
        # Glue publishes no per-job failure metric by default: its state changes go to
        # EventBridge, which forwards failures and timeouts straight to the topic.
        events.Rule(
            self, "GlueJobFailed", description="lakeguard Glue job failed or timed out",
            event_pattern=events.EventPattern(
                source=["aws.glue"], detail_type=["Glue Job State Change"],
                detail={"jobName": [job.ref for job in jobs.values()],
                        "state": ["FAILED", "TIMEOUT", "ERROR"]}),
            targets=[targets.SnsTopic(self.topic)])

        dashboard = cloudwatch.Dashboard(self, "Dashboard",
                                         dashboard_name=f"{settings.name_prefix}-pipeline")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Objects: started, published, failed", width=12,
                                   left=[state_machine.metric_started(),
                                         state_machine.metric_succeeded(),
                                         state_machine.metric_failed()]),
            cloudwatch.GraphWidget(title="Stage errors and throttles", width=12,
                                   left=[f.metric_errors() for f in functions.values()],
                                   right=[f.metric_throttles() for f in functions.values()]),
            cloudwatch.GraphWidget(title="Stage duration (p90)", width=12,
                                   left=[f.metric_duration(statistic="p90")
                                         for f in functions.values()]),
            cloudwatch.AlarmStatusWidget(title="Alarms", width=12, alarms=alarms),
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn)

    def condition_service_grants(self) -> None:
        """Scope the alarm topic's service grants to this account."""
        policy = self.topic.node.find_child("Policy").node.default_child
        assert isinstance(policy, sns.CfnTopicPolicy)
        scope_service_statements(policy, "PolicyDocument", policy.policy_document)
