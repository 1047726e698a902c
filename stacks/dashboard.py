"""The runbook's overview dashboard, Lecture-<c>-Overview: the watched resources' key metrics and the
automation's own health.

The resource widgets come from the catalog (one per alarm kind per instance, with its threshold), so a new
alarm kind or resource kind appears here by itself; the outcome widgets come from the runbooks' declared
outcomes, grouped by kind (ok, skipped, refused, failed).
"""

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import RUNBOOKS, CustomerConfig, naming, watched_alarms

WIDTH = 24  # a dashboard row
PERIOD = Duration.minutes(5)


class OverviewDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CustomerConfig,
        workflows: dict[str, sfn.StateMachine],
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=naming.dashboard_name(config.customer), default_interval=Duration.hours(3)
        )
        self.dashboard.add_widgets(self._text("Watched resources: the metric of each alarm, with its threshold"))
        self.dashboard.add_widgets(*self._resource_widgets())
        self.dashboard.add_widgets(self._text("The automation: executions, outcomes, dead letters, pages"))
        self.dashboard.add_widgets(*self._execution_widgets(workflows))
        self.dashboard.add_widgets(*self._outcome_widgets())
        self.dashboard.add_widgets(self._dead_letter_widget(dead_letters), self._pages_widget())

    @staticmethod
    def _text(markdown: str) -> cloudwatch.TextWidget:
        return cloudwatch.TextWidget(markdown=f"## {markdown}", width=WIDTH, height=1)

    def _resource_widgets(self) -> list[cloudwatch.IWidget]:
        widgets: list[cloudwatch.IWidget] = []
        for name, watched in watched_alarms(self.config).items():
            alarm = watched.alarm
            metric = cloudwatch.Metric(
                namespace=alarm.namespace,
                metric_name=alarm.metric,
                statistic=alarm.statistic,
                period=Duration.seconds(alarm.period_seconds),
                dimensions_map=watched.kind.dimensions(self.config, watched.target),
                label=f"{watched.target} {alarm.metric}",
            )
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{watched.kind.title} {watched.target}: {alarm.metric} ({alarm.statistic})",
                    width=8,
                    left=[metric],
                    left_annotations=[
                        cloudwatch.HorizontalAnnotation(
                            value=alarm.threshold_for(self.config, watched.target), label=f"{name} ({alarm.severity.value})"
                        )
                    ],
                )
            )
        return widgets

    @staticmethod
    def _execution_widgets(workflows: dict[str, sfn.StateMachine]) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{workflow}: executions",
                width=8,
                left=[
                    machine.metric_started(period=PERIOD, label="started"),
                    machine.metric_succeeded(period=PERIOD, label="succeeded"),
                    machine.metric_failed(period=PERIOD, label="failed"),
                ],
            )
            for workflow, machine in workflows.items()
        ]

    @staticmethod
    def _outcome_widgets() -> list[cloudwatch.IWidget]:
        """Per runbook, its outcomes summed by kind (the runbook handler's outcome_<name> EMF metrics)."""
        widgets: list[cloudwatch.IWidget] = []
        for rb in RUNBOOKS.values():
            lines = []
            for kind in ("ok", "skipped", "refused", "failed"):
                names = [o.name for o in rb.outcomes if o.kind == kind]
                if not names:
                    continue
                metrics = {
                    f"{kind}{i}": cloudwatch.Metric(
                        namespace=naming.METRICS_NAMESPACE,
                        metric_name=f"outcome_{n}",
                        statistic="Sum",
                        period=PERIOD,
                        dimensions_map={"service": naming.METRICS_SERVICE, "runbook": rb.name},
                    )
                    for i, n in enumerate(names)
                }
                lines.append(
                    cloudwatch.MathExpression(
                        expression=" + ".join(f"FILL({m}, 0)" for m in metrics), using_metrics=metrics, label=kind, period=PERIOD
                    )
                )
            widgets.append(cloudwatch.GraphWidget(title=f"{rb.name}: outcomes by kind", width=8, left=lines, stacked=True))
        return widgets

    @staticmethod
    def _dead_letter_widget(dead_letters: sqs.IQueue) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Dead letters (events that could not start respond)",
            width=12,
            left=[dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), label="depth")],
        )

    @staticmethod
    def _pages_widget() -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Pages sent (PagerDuty requests)",
            width=12,
            stacked=True,
            left=[
                cloudwatch.Metric(
                    namespace=naming.METRICS_NAMESPACE,
                    metric_name=naming.PAGES_SENT_METRIC,
                    statistic="Sum",
                    period=PERIOD,
                    dimensions_map={"service": naming.METRICS_SERVICE, "kind": kind},
                    label=kind,
                )
                for kind in naming.PAGE_KINDS
            ],
        )
