"""Alarm kinds: what is watched on an instance of a resource kind, how bad it is, and what answers it.

Each resource kind (catalog/kinds.py) lists its alarm kinds; the metric dimensions come from the kind.
"""

from dataclasses import dataclass, field
from typing import Any

from catalog.severity import Severity


@dataclass(frozen=True)
class AlarmKind:
    condition: str  # suffix of the alarm name: lecture-<c>-<instance>-<condition>
    description: str
    namespace: str
    metric: str
    statistic: str
    comparison: str  # CloudWatch ComparisonOperator
    threshold: float
    period_seconds: int
    evaluation_periods: int
    severity: Severity
    impact: str  # the status update's "Impact" line
    runbook: str | None = None  # None: page only, no automatic remediation
    runbook_input: dict[str, Any] = field(default_factory=dict)  # merged with {<kind's target_field>: <instance>}
    no_runbook_reason: str = ""


ECS_SERVICE_ALARMS: tuple[AlarmKind, ...] = (
    AlarmKind(
        condition="cpu-high",
        description="ECS service CPU utilisation is high",
        namespace="AWS/ECS",
        metric="CPUUtilization",
        statistic="Average",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=80,
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Performance degradation: lectures may load slowly",
        runbook="scale-ecs-service",
        runbook_input={"delta": 1},
    ),
    AlarmKind(
        condition="memory-high",
        description="ECS service memory utilisation is high",
        namespace="AWS/ECS",
        metric="MemoryUtilization",
        statistic="Average",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=85,
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Performance degradation: tasks are close to their memory limit",
        runbook="scale-ecs-service",
        runbook_input={"delta": 1},
    ),
    AlarmKind(
        # The runbook's own alarm (ECS-Service-TaskCount-Low): below 1, period 300, 2 periods.
        condition="running-tasks-low",
        description="ECS service has too few running tasks",
        namespace="ECS/ContainerInsights",
        metric="RunningTaskCount",
        statistic="Average",
        comparison="LessThanThreshold",
        threshold=1,
        period_seconds=300,
        evaluation_periods=2,
        severity=Severity.P1,
        impact="Single customer down: the service has no running tasks",
        runbook=None,
        no_runbook_reason="more tasks do not fix a crash loop; a person must look at the stopped tasks",
    ),
)

