"""Alarm kinds: what is watched on an instance of a resource kind, how bad it is, and what answers it.

Each resource kind (catalog/kinds.py) lists its alarm kinds; the metric dimensions come from the kind.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.severity import Severity

# The states a CloudWatch alarm can be in (its events, admit's decision)
AlarmStateValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


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
    evaluation_periods: int  # N of "M of N": the datapoints looked at
    severity: Severity
    impact: str  # the status update's "Impact" line
    runbook: str | None = None  # None: page only, no automatic remediation
    runbook_input: dict[str, Any] = field(default_factory=dict)  # merged with {<kind's target_field>: <instance>}
    no_runbook_reason: str = ""
    # a threshold that depends on the customer file, e.g. 80 % of the function's timeout: (config, instance) -> value
    threshold_of: Callable[[Any, str], float] | None = None
    # "down": the customer's service is out (the severity table's "Single customer down"), not degraded. The ops
    # account counts customers with an open "down" incident; at least min_customers of them at once is the P0.
    down: bool = False
    # M of "M of N": how many of the evaluation_periods datapoints must breach (None: all of them, CloudWatch's
    # default). The worst-case detection time of the alarm is period_seconds x this (``detection_seconds``).
    datapoints_to_alarm: int | None = None
    # what a period without data counts as (CloudWatch TreatMissingData): a cluster that is gone reports nothing
    treat_missing_data: Literal["missing", "breaching", "notBreaching", "ignore"] = "missing"

    def __post_init__(self) -> None:
        if self.datapoints_to_alarm is not None and not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(
                f"alarm kind {self.condition}: datapoints_to_alarm {self.datapoints_to_alarm} must be within "
                f"1..{self.evaluation_periods} (its evaluation_periods)"
            )

    @property
    def detection_seconds(self) -> int:
        """The worst-case time from the condition's start to ALARM: M breaching datapoints of period_seconds each."""
        return self.period_seconds * (self.datapoints_to_alarm or self.evaluation_periods)

    def threshold_for(self, config: Any, instance: str) -> float:
        return self.threshold_of(config, instance) if self.threshold_of else self.threshold


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
        # The runbook's own alarm (ECS-Service-TaskCount-Low) is below 1 for 2 periods of 300 s: ten minutes before
        # anything starts, two thirds of the P0 response target. 1 of 3 minutes here (60 s worst case), and the
        # ECS events of catalog/service_events.py open the same incident within seconds; 3 minutes back above 1
        # before it is OK again, so a flapping service stays one incident.
        condition="running-tasks-low",
        description="ECS service has too few running tasks",
        namespace="ECS/ContainerInsights",
        metric="RunningTaskCount",
        statistic="Average",
        comparison="LessThanThreshold",
        threshold=1,
        period_seconds=60,
        evaluation_periods=3,
        datapoints_to_alarm=1,
        severity=Severity.P1,
        impact="Single customer down: the service has no running tasks",
        runbook=None,
        no_runbook_reason="more tasks do not fix a crash loop; a person must look at the stopped tasks",
        down=True,
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
    AlarmKind(
        # Aurora publishes cluster metrics while an instance of it runs; none for a whole minute means no instance
        # answers (stopped, failed, deleted). SampleCount of CPUUtilization below 1, a missing period counting as
        # breaching. A failover (about 30 s) is seen sooner by its RDS events (catalog/service_events.py).
        condition="cluster-unavailable",
        description="Aurora cluster reports no metrics: no instance is available",
        namespace="AWS/RDS",
        metric="CPUUtilization",
        statistic="SampleCount",
        comparison="LessThanThreshold",
        threshold=1,
        period_seconds=60,
        evaluation_periods=3,
        datapoints_to_alarm=1,
        treat_missing_data="breaching",
        severity=Severity.P1,
        impact="Single customer down: the database is unavailable, lectures cannot load",
        no_runbook_reason="a snapshot needs an available cluster; a person must look at the cluster's events",
        down=True,
    ),
)


# The customer's Lambda function (AWS/Lambda, dimension FunctionName). Errors, throttles and slow runs are
# "performance degradation" in the runbook's classification (P2): some requests fail or are slow, the lectures
# (the ECS backend, whose outage is P1) still load. They page with the function's diagnosis and change nothing:
# tuning (memory, timeout, reserved concurrency) comes with the operator runbooks.
LAMBDA_TUNING_LATER = "tuning comes with the operator runbooks"
DURATION_NEAR_TIMEOUT = 0.8  # of the function's configured timeout (function_timeout_seconds)

LAMBDA_FUNCTION_ALARMS: tuple[AlarmKind, ...] = (
    AlarmKind(
        # a few errors retried by the caller are normal; errors minute after minute are not
        condition="errors",
        description="Lambda function invocations fail",
        namespace="AWS/Lambda",
        metric="Errors",
        statistic="Sum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=5,
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Minor functionality impacted: some requests served by the function fail",
        no_runbook_reason=LAMBDA_TUNING_LATER,
    ),
    AlarmKind(
        # any throttle means requests were rejected at the concurrency limit
        condition="throttles",
        description="Lambda function invocations are throttled",
        namespace="AWS/Lambda",
        metric="Throttles",
        statistic="Sum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Minor functionality impacted: requests are rejected at the function's concurrency limit",
        no_runbook_reason=LAMBDA_TUNING_LATER,
    ),
    AlarmKind(
        # Duration is in milliseconds; the slowest run of each minute, 3 minutes running, near the timeout
        condition="duration-near-timeout",
        description=f"Lambda function runs take {DURATION_NEAR_TIMEOUT:.0%} of its timeout or more",
        namespace="AWS/Lambda",
        metric="Duration",
        statistic="Maximum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=30_000 * DURATION_NEAR_TIMEOUT,  # the default timeout's; threshold_of reads the customer file
        period_seconds=60,
        evaluation_periods=3,
        severity=Severity.P2,
        impact="Performance degradation: the function is slow and close to timing out",
        no_runbook_reason=LAMBDA_TUNING_LATER,
        threshold_of=lambda c, name: c.function_timeout_seconds * 1000 * DURATION_NEAR_TIMEOUT,
    ),
)

# The customer's API Gateway REST API (AWS/ApiGateway, dimensions ApiName and Stage): only when named.
API_GATEWAY_ALARMS: tuple[AlarmKind, ...] = (
    AlarmKind(
        # "down": 1 of 3 minutes with 5 or more server errors (60 s worst case); 3 clean minutes before OK
        condition="5xx",
        description="API Gateway answers with server errors (5xx)",
        namespace="AWS/ApiGateway",
        metric="5XXError",
        statistic="Sum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=5,
        period_seconds=60,
        evaluation_periods=3,
        datapoints_to_alarm=1,
        severity=Severity.P2,
        impact="Minor functionality impacted: some API requests fail with server errors",
        no_runbook_reason="the cause is behind the API (function, service, database): their alarms answer it",
        down=True,
    ),
    AlarmKind(
        condition="latency-high",
        description="API Gateway latency is high",
        namespace="AWS/ApiGateway",
        metric="Latency",
        statistic="Average",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=3000,  # ms
        period_seconds=60,
        evaluation_periods=5,
        severity=Severity.P2,
        impact="Performance degradation: API requests are slow",
        no_runbook_reason="the cause is behind the API (function, service, database): their alarms answer it",
    ),
)

# The customer's CloudFront distribution (AWS/CloudFront, dimensions DistributionId and Region=Global). Its
# metrics exist only in us-east-1, so only a stack in us-east-1 can alarm on them (catalog/kinds.py).
CLOUDFRONT_ALARMS: tuple[AlarmKind, ...] = (
    AlarmKind(
        condition="5xx-rate-high",
        description="CloudFront answers with server errors (5xx rate)",
        namespace="AWS/CloudFront",
        metric="5xxErrorRate",
        statistic="Average",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=5,  # percent of requests
        period_seconds=60,
        evaluation_periods=5,
        severity=Severity.P2,
        impact="Minor functionality impacted: some lecture content fails to load",
        no_runbook_reason="the cause is the origin (bucket, API, service): a person must look at it",
    ),
    AlarmKind(
        # A low hit rate costs origin load and money, users see at most slower loads: the runbook's P3
        # (next business day, email). CacheHitRate needs the distribution's additional metrics switched on.
        condition="cache-hit-rate-low",
        description="CloudFront cache hit rate is low",
        namespace="AWS/CloudFront",
        metric="CacheHitRate",
        statistic="Average",
        comparison="LessThanThreshold",
        threshold=50,  # percent
        period_seconds=300,
        evaluation_periods=3,
        severity=Severity.P3,
        impact="Minor: more requests reach the origin; content may load more slowly",
        no_runbook_reason="cache settings are changed by people (Terraform), not by the automation",
    ),
)


# Each resource kind's alarm kinds, by the kind's name: catalog/kinds.py declares the same (a test checks), and a
# customer file names one as "<kind>/<condition>" (severities) without the model importing the kinds.
ALARMS_BY_KIND: dict[str, tuple[AlarmKind, ...]] = {
    "ecs_service": ECS_SERVICE_ALARMS,
    "lambda_function": LAMBDA_FUNCTION_ALARMS,
    "api_gateway": API_GATEWAY_ALARMS,
    "cloudfront": CLOUDFRONT_ALARMS,
    "rds_cluster": RDS_CLUSTER_ALARMS,
}


def down_alarm_kind_keys() -> set[str]:
    """ "<resource kind>/<condition>" of every alarm kind that means the customer is down (the fleet's P0)."""
    return {f"{kind}/{a.condition}" for kind, alarms in ALARMS_BY_KIND.items() for a in alarms if a.down}


def alarm_kind_keys() -> set[str]:
    """ "<resource kind>/<condition>" of every alarm kind: how a customer file names one (severities)."""
    return {f"{kind}/{a.condition}" for kind, alarms in ALARMS_BY_KIND.items() for a in alarms}
