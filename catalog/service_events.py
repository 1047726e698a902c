"""Service events: what AWS itself says within seconds when a customer's service goes down (or comes back).

A "down" alarm (catalog/alarms.py, ``down=True``) needs at least one datapoint of a minute; ECS and RDS send
their own events to EventBridge within seconds of the change. Each kind here names the alarm kind it stands for
(``condition`` on ``resource_kind``): an event that "opens" opens THE SAME incident that alarm would open on that
resource (same table row, same PagerDuty dedup_key), so the alarm firing afterwards joins it (one page), and
its OK resolves it. An event that "closes" resolves an incident that an event opened and the alarm never took
over (a failover over in 30 s, a crash loop that ECS recovered from).

The stack derives one EventBridge rule per kind from ``pattern`` (stacks/service_events.py); admit classifies
a delivered event with ``matches`` (lambdas/logic/service_events.py). Both read the same declaration.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from catalog import naming
from catalog.alarms import ALARMS_BY_KIND, AlarmKind
from catalog.customer import CustomerConfig
from catalog.permissions import Permission

# Assumed, not measured: AWS documents ECS and RDS events as delivered to EventBridge "in near real time" (best
# effort). The bench states this budget as the worst case of an event path: event -> rule -> respond -> admit.
DELIVERY_BUDGET_SECONDS = 30

ECS_TASK_STATE_CHANGE = "ECS Task State Change"
ECS_SERVICE_ACTION = "ECS Service Action"
RDS_CLUSTER_EVENT = "RDS DB Cluster Event"

# ECS's own words for a stop it made on purpose: scale-in, a deployment replacing a task, a maintenance window's
# scale to zero ("Scaling activity initiated by (deployment ecs-svc/...)", stopCode ServiceSchedulerInitiated).
# A task the scheduler stops because it failed its health checks says so instead ("Task failed ELB health
# checks"), and counts.
PLANNED_STOP_PREFIX = "Scaling activity initiated by"

# ECS Service Action events of a service that cannot run its tasks (WARN / ERROR); SERVICE_STEADY_STATE (INFO):
# the service runs what it should again.
SERVICE_IMPAIRED_EVENTS: tuple[str, ...] = (
    "SERVICE_TASK_START_IMPAIRED",
    "SERVICE_TASK_PLACEMENT_FAILURE",
    "SERVICE_TASK_CONFIGURATION_FAILURE",
)

# RDS DB cluster events (Aurora user guide, "Amazon RDS event categories and event messages for Aurora"):
# failover: 0069 failed, 0070 promoting the previous primary again, 0071 completed, 0072 started in the same AZ,
# 0073 started across AZs; notification: 0150 the cluster stopped, 0151 the cluster started.
RDS_DOWN_EVENT_IDS: dict[str, str] = {
    "RDS-EVENT-0069": "cluster failover failed",
    "RDS-EVENT-0070": "failover: promoting the previous primary again",
    "RDS-EVENT-0072": "failover started (same Availability Zone)",
    "RDS-EVENT-0073": "failover started (across Availability Zones)",
    "RDS-EVENT-0150": "the DB cluster stopped",
}
RDS_UP_EVENT_IDS: dict[str, str] = {
    "RDS-EVENT-0071": "failover completed",
    "RDS-EVENT-0151": "the DB cluster started",
}


def _ecs_cluster_arn(c: CustomerConfig) -> str:
    return f"arn:aws:ecs:{c.region}:{c.account}:cluster/{c.ecs.cluster}"


def _ecs_service_arns(c: CustomerConfig) -> list[str]:
    return [f"arn:aws:ecs:{c.region}:{c.account}:service/{c.ecs.cluster}/{s.name}" for s in c.ecs.services]


@dataclass(frozen=True)
class ServiceEventKind:
    name: str  # the rule: lecture-<c>-<name>
    title: str  # in pages and audit rows
    resource_kind: str  # catalog/kinds.py
    condition: str  # the "down" alarm kind (on resource_kind) whose incident it opens or closes
    effect: Literal["open", "close"]
    source: str
    detail_type: str
    # the rule's pattern beyond source, detail-type, account and region: {"detail": ..., "resources": ...}
    pattern_of: Callable[[CustomerConfig], dict[str, Any]]
    # the instance an event is about (its target), read from the delivered event; None: it names none
    target_of: Callable[[dict[str, Any]], str | None]
    # what happened, in a few words, from the event
    what_of: Callable[[dict[str, Any]], str]

    def rule_name(self, customer: str) -> str:
        return naming.rule_name(customer, self.name)

    def alarm_kind(self) -> AlarmKind:
        return next(a for a in ALARMS_BY_KIND[self.resource_kind] if a.condition == self.condition)

    def pattern(self, config: CustomerConfig) -> dict[str, Any]:
        """The whole EventBridge pattern of this kind's rule for this customer."""
        return {
            "source": [self.source],
            "detail-type": [self.detail_type],
            "account": [config.account],
            "region": [config.region],
            **self.pattern_of(config),
        }

    def matches(self, event: dict[str, Any], config: CustomerConfig) -> bool:
        """Whether a delivered event is one of this kind, as the rule decides it."""
        return matches(event, self.pattern(config))


def matches(value: Any, pattern: dict[str, Any]) -> bool:
    """An EventBridge pattern of the shapes these rules use: nested objects, lists of literals and
    {"anything-but": {"prefix": ...}}; a list in the event matches when one of its items does."""
    for key, want in pattern.items():
        got = value.get(key) if isinstance(value, dict) else None
        if isinstance(want, dict):
            if not matches(got, want):
                return False
        elif not any(_one(item, want) for item in (got if isinstance(got, list) else [got])):
            return False
    return True


def _one(got: Any, filters: list[Any]) -> bool:
    for f in filters:
        if isinstance(f, dict) and "anything-but" in f:
            but = f["anything-but"]
            prefix = but.get("prefix") if isinstance(but, dict) else None
            if isinstance(got, str) and prefix is not None and not got.startswith(prefix):
                return True
        elif got is not None and got == f:
            return True
    return False


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail")
    return detail if isinstance(detail, dict) else {}


def _service_of_resources(event: dict[str, Any]) -> str | None:
    resources = event.get("resources")
    first = resources[0] if isinstance(resources, list) and resources else None
    return first.rsplit("/", 1)[-1] if isinstance(first, str) and "/" in first else None


def _task_stopped(event: dict[str, Any]) -> str:
    d = _detail(event)
    task = str(d.get("taskArn", "")).rsplit("/", 1)[-1] or "a task"
    why = d.get("stoppedReason") or "no reason given"
    code = f", {d['stopCode']}" if d.get("stopCode") else ""
    return f"task {task} stopped: {why}{code}"


SERVICE_EVENTS: dict[str, ServiceEventKind] = {
    k.name: k
    for k in (
        ServiceEventKind(
            name="ecs-task-stopped",
            title="ECS task stopped",
            resource_kind="ecs_service",
            condition="running-tasks-low",
            effect="open",
            source="aws.ecs",
            detail_type=ECS_TASK_STATE_CHANGE,
            pattern_of=lambda c: {
                "detail": {
                    "clusterArn": [_ecs_cluster_arn(c)],
                    "group": [f"service:{s.name}" for s in c.ecs.services],
                    "lastStatus": ["STOPPED"],
                    "stoppedReason": [{"anything-but": {"prefix": PLANNED_STOP_PREFIX}}],
                }
            },
            target_of=lambda e: str(_detail(e).get("group", "")).removeprefix("service:") or None,
            what_of=_task_stopped,
        ),
        ServiceEventKind(
            name="ecs-service-impaired",
            title="ECS service cannot run its tasks",
            resource_kind="ecs_service",
            condition="running-tasks-low",
            effect="open",
            source="aws.ecs",
            detail_type=ECS_SERVICE_ACTION,
            pattern_of=lambda c: {
                "resources": _ecs_service_arns(c),
                "detail": {
                    "clusterArn": [_ecs_cluster_arn(c)],
                    "eventType": ["WARN", "ERROR"],
                    "eventName": list(SERVICE_IMPAIRED_EVENTS),
                },
            },
            target_of=_service_of_resources,
            what_of=lambda e: (
                f"{_detail(e).get('eventName')} ({_detail(e).get('eventType')})"
                + (f": {_detail(e)['reason']}" if _detail(e).get("reason") else "")
            ),
        ),
        ServiceEventKind(
            name="ecs-service-steady",
            title="ECS service back in steady state",
            resource_kind="ecs_service",
            condition="running-tasks-low",
            effect="close",
            source="aws.ecs",
            detail_type=ECS_SERVICE_ACTION,
            pattern_of=lambda c: {
                "resources": _ecs_service_arns(c),
                "detail": {"clusterArn": [_ecs_cluster_arn(c)], "eventType": ["INFO"], "eventName": ["SERVICE_STEADY_STATE"]},
            },
            target_of=_service_of_resources,
            what_of=lambda e: "SERVICE_STEADY_STATE: the service runs its desired tasks",
        ),
        ServiceEventKind(
            name="rds-cluster-down",
            title="Aurora cluster failover or stop",
            resource_kind="rds_cluster",
            condition="cluster-unavailable",
            effect="open",
            source="aws.rds",
            detail_type=RDS_CLUSTER_EVENT,
            pattern_of=lambda c: {
                "detail": {"SourceIdentifier": [c.rds.cluster], "EventID": list(RDS_DOWN_EVENT_IDS)},
            },
            target_of=lambda e: str(_detail(e).get("SourceIdentifier") or "") or None,
            what_of=lambda e: (
                f"{_detail(e).get('EventID')}: "
                + str(_detail(e).get("Message") or RDS_DOWN_EVENT_IDS.get(str(_detail(e).get("EventID")), ""))
            ),
        ),
        ServiceEventKind(
            name="rds-cluster-up",
            title="Aurora cluster available again",
            resource_kind="rds_cluster",
            condition="cluster-unavailable",
            effect="close",
            source="aws.rds",
            detail_type=RDS_CLUSTER_EVENT,
            pattern_of=lambda c: {
                "detail": {"SourceIdentifier": [c.rds.cluster], "EventID": list(RDS_UP_EVENT_IDS)},
            },
            target_of=lambda e: str(_detail(e).get("SourceIdentifier") or "") or None,
            what_of=lambda e: (
                f"{_detail(e).get('EventID')}: "
                + str(_detail(e).get("Message") or RDS_UP_EVENT_IDS.get(str(_detail(e).get("EventID")), ""))
            ),
        ),
    )
}

# The detail-types admit reads as service events.
DETAIL_TYPES: frozenset[str] = frozenset(k.detail_type for k in SERVICE_EVENTS.values())


def down_event_kinds(resource_kind: str, condition: str) -> list[ServiceEventKind]:
    """The service events that open the incident of this down alarm kind (the bench's event path)."""
    return [k for k in SERVICE_EVENTS.values() if (k.resource_kind, k.condition, k.effect) == (resource_kind, condition, "open")]


# What admit reads to confirm a service event against the resource's own state (lambdas/logic/service_events.py:
# an ECS service's running count); read-only, on the customer's services.
SERVICE_EVENT_CONFIRMS: tuple[Permission, ...] = (Permission(("ecs:DescribeServices",), resource="ecs_service"),)
