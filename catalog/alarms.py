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


# Aurora cluster alarms (AWS/RDS, dimension DBClusterIdentifier: the cluster's instances together). Each is
# "performance degradation" in the runbook's classification (P2); the answer is a snapshot first, a safety net
# before people start changing things, then the page with the cluster's diagnosis.
RDS_CLUSTER_ALARMS: tuple[AlarmKind, ...] = (
    AlarmKind(
        # Aurora PostgreSQL's max_connections is LEAST(memory/9531392, 5000): about 405 on db.t4g.medium, the
        # smallest class we run. 300 (three quarters of it) leaves room to act before new connections fail.
        condition="connections-high",
        description="Aurora cluster has many database connections",
        namespace="AWS/RDS",
        metric="DatabaseConnections",
        statistic="Maximum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=300,
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Performance degradation: the database is close to its connection limit; new requests may fail",
        runbook="snapshot-rds-cluster",
    ),
    AlarmKind(
        # The same 80 % as the ECS services; 5 minutes, because short peaks (vacuum, a report) are normal.
        condition="cpu-high",
        description="Aurora cluster CPU utilisation is high",
        namespace="AWS/RDS",
        metric="CPUUtilization",
        statistic="Average",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=80,
        period_seconds=60,
        evaluation_periods=5,
        severity=Severity.P2,
        impact="Performance degradation: database queries are slow, lectures load slowly",
        runbook="snapshot-rds-cluster",
    ),
    AlarmKind(
        # Below 256 MiB of freeable memory Aurora starts swapping and may restart the instance (out of memory).
        condition="memory-low",
        description="Aurora cluster freeable memory is low",
        namespace="AWS/RDS",
        metric="FreeableMemory",
        statistic="Minimum",
        comparison="LessThanThreshold",
        threshold=256 * 1024 * 1024,
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Performance degradation: the database is short of memory and may restart",
        runbook="snapshot-rds-cluster",
    ),
)
