"""The runbooks' schedules: one EventBridge schedule rule per runbook that declares one (catalog.runbooks), from
the customer's config. Each starts respond, as an alarm does: admit claims the firing, the runbook runs, record
pages what needs a person. Same retries and dead-letter queue as the alarm rule."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import CustomerConfig
from catalog.runbooks import scheduled_runs


class RunbookSchedules(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: CustomerConfig, respond: sfn.IStateMachine, dead_letters: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules = {
            name: events.Rule(
                self,
                run.runbook.name,
                rule_name=name,
                schedule=events.Schedule.expression(run.expression),
                description=f"{run.runbook.title}: {run.expression} (UTC) -> respond -> {run.runbook.name}",
                targets=[
                    targets.SfnStateMachine(
                        respond, dead_letter_queue=dead_letters, retry_attempts=8, max_event_age=Duration.hours(2)
                    )
                ],
            )
            for name, run in scheduled_runs(config).items()
        }
