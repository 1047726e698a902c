"""Service events (catalog/service_events.py) -> respond: one EventBridge rule per kind, its pattern derived from the
catalog (the customer's cluster, services and Aurora cluster; account and region pinned). Same target, retries
and dead-letter queue as the alarm rule. ECS and RDS send these to the account's default bus by themselves: no
trail and no subscription is needed."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import CustomerConfig
from catalog.service_events import SERVICE_EVENTS


class ServiceEvents(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: CustomerConfig, respond: sfn.IStateMachine, dead_letters: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for kind in SERVICE_EVENTS.values():
            pattern = kind.pattern(config)
            self.rules[kind.name] = events.Rule(
                self,
                kind.name,
                rule_name=kind.rule_name(config.customer),
                description=f"service event: {kind.title} ({kind.detail_type}) -> respond: {kind.effect}s the "
                f"{kind.condition} incident of its {kind.resource_kind}",
                event_pattern=events.EventPattern(
                    source=pattern["source"],
                    detail_type=pattern["detail-type"],
                    account=pattern["account"],
                    region=pattern["region"],
                    resources=pattern.get("resources"),
                    detail=pattern.get("detail"),
                ),
                targets=[
                    targets.SfnStateMachine(
                        respond, dead_letter_queue=dead_letters, retry_attempts=8, max_event_age=Duration.hours(2)
                    )
                ],
            )
