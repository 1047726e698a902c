"""Security events (catalog/security.py) -> respond: one EventBridge rule per kind, its pattern derived from the
catalog, account and region pinned. Same target, retries and dead-letter queue as the alarm rule. Respond's admit
pages the security team, once per burst; nothing changes automatically.

CloudTrail events reach EventBridge only where the account has a trail with management events; console
sign-in events arrive in the region the sign-in was recorded in (often us-east-1 for IAM users), and only
those of the customer's region are caught here.
"""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import CustomerConfig
from catalog.security import SECURITY_EVENTS


class SecurityEvents(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: CustomerConfig, respond: sfn.IStateMachine, dead_letters: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules = {
            kind.name: events.Rule(
                self,
                kind.name,
                rule_name=kind.rule_name(config.customer),
                description=f"security event: {kind.title} (CloudTrail) -> respond -> page the {kind.team} team "
                f"({kind.severity.value}, one page per {kind.burst_window_minutes} min)",
                event_pattern=events.EventPattern(
                    source=[kind.source],
                    detail_type=[kind.detail_type],
                    account=[config.account],
                    region=[config.region],
                    detail=kind.pattern_detail(config),
                ),
                targets=[
                    targets.SfnStateMachine(
                        respond, dead_letter_queue=dead_letters, retry_attempts=8, max_event_age=Duration.hours(2)
                    )
                ],
            )
            for kind in SECURITY_EVENTS.values()
        }
