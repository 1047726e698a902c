"""Alarms for every instance of every resource kind, from the catalog, and the rule that routes them."""

import re

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import CustomerConfig, naming, watched_alarms
from stacks.foundation import Foundation


class ResourceAlarms(Construct):
    """One alarm per alarm kind per instance of each resource kind (e.g. CPU high for each ECS service)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: CustomerConfig) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        self.names: list[str] = []  # literal names (not tokens), so the rule's pattern reads plainly
        for name, watched in watched_alarms(config).items():
            kind = watched.alarm
            metric = cloudwatch.Metric(
                namespace=kind.namespace,
                metric_name=kind.metric,
                statistic=kind.statistic,
                period=Duration.seconds(kind.period_seconds),
                dimensions_map=watched.kind.dimensions(config, watched.target),
            )
            self.names.append(name)
            self.alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{watched.target}-{kind.condition}",
                    alarm_name=name,
                    alarm_description=f"{kind.description} ({kind.severity.value}). Automation: {kind.runbook or 'page only'}",
                    metric=metric,
                    threshold=kind.threshold_for(config, watched.target),
                    evaluation_periods=kind.evaluation_periods,
                    datapoints_to_alarm=kind.datapoints_to_alarm,
                    comparison_operator=_operator(kind.comparison),
                    treat_missing_data=_MISSING[kind.treat_missing_data],
                )
            )


class AlarmRouting(Construct):
    """EventBridge rule: this customer's alarm state changes -> respond, with retries and a DLQ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CustomerConfig,
        foundation: Foundation,
        alarm_names: list[str],
        respond: sfn.IStateMachine,
        watched: dict[str, sfn.StateMachine],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=naming.dead_letter_queue_name(config.customer),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.rule = events.Rule(
            self,
            "AlarmStateChanges",
            rule_name=naming.rule_name(config.customer, "alarm-state-changes"),
            description=f"{naming.group(config.customer)} alarm state changes -> respond workflow",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                account=[config.account],
                region=[config.region],
                detail={"alarmName": alarm_names},
            ),
            targets=[
                targets.SfnStateMachine(
                    respond, dead_letter_queue=self.dead_letters, retry_attempts=8, max_event_age=Duration.hours(2)
                )
            ],
        )
        # Nothing may fail unnoticed: alarm on the DLQ and on failed executions of every workflow
        # (runbooks started by hand included), to the status topic.
        notify = cw_actions.SnsAction(foundation.topic)
        lost = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_name=naming.self_alarm_name(config.customer, "dead-letters"),
            alarm_description="Alarm events could not be delivered to the respond workflow: check the DLQ",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        lost.add_alarm_action(notify)
        for workflow, machine in watched.items():
            failed = cloudwatch.Alarm(
                self,
                f"{workflow}FailedAlarm",
                alarm_name=naming.self_alarm_name(config.customer, f"{workflow}-failed"),
                alarm_description=f"A {workflow} execution failed: read its error in the Step Functions console",
                metric=machine.metric_failed(period=Duration.minutes(1)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            failed.add_alarm_action(notify)


_MISSING = {
    "missing": cloudwatch.TreatMissingData.MISSING,
    "breaching": cloudwatch.TreatMissingData.BREACHING,
    "notBreaching": cloudwatch.TreatMissingData.NOT_BREACHING,
    "ignore": cloudwatch.TreatMissingData.IGNORE,
}


def _operator(name: str) -> cloudwatch.ComparisonOperator:
    """GreaterThanOrEqualToThreshold -> ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD"""
    return cloudwatch.ComparisonOperator[re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()]
