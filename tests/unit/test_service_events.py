"""Service events (catalog/service_events.py): which ECS and RDS events mean a down alarm kind, their models, and
the tightened down alarms."""

import pytest
from moto.events.models import EventPattern

from catalog.alarms import ALARMS_BY_KIND, AlarmKind, down_alarm_kind_keys
from catalog.service_events import SERVICE_EVENTS, down_event_kinds
from catalog.severity import Severity
from customers import load_customer
from lambdas.errors import InvalidEvent
from lambdas.logic.service_events import parse
from lambdas.models.events import EcsTaskStateChangeEvent
from sandbox.eventbus import ecs_service_action_event, ecs_task_stopped_event, rds_cluster_event

ACCOUNT, REGION = "111111111111", "eu-central-1"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/lecture-dhbw-cluster"
SERVICE = "lecture-backend-service"


def task(reason: str = "Essential container in task exited", group: str = f"service:{SERVICE}", cluster: str = CLUSTER_ARN):
    return {
        "clusterArn": cluster,
        "taskArn": f"{cluster.replace(':cluster/', ':task/')}/0123",
        "group": group,
        "stoppedReason": reason,
    }


def kinds_matching(event, config) -> list[str]:
    return [k.name for k in SERVICE_EVENTS.values() if k.matches(event, config)]


@pytest.fixture
def dhbw():
    return load_customer("dhbw")


def test_every_service_event_kind_stands_for_a_down_alarm_kind():
    down = down_alarm_kind_keys()
    for k in SERVICE_EVENTS.values():
        assert f"{k.resource_kind}/{k.condition}" in down, k.name
        assert k.alarm_kind().down
    # every down kind an event can open has a way back (a closing event) besides the alarm's OK
    for k in SERVICE_EVENTS.values():
        assert any(
            c.effect == "close" and (c.resource_kind, c.condition) == (k.resource_kind, k.condition)
            for c in SERVICE_EVENTS.values()
        )
    assert [k.name for k in down_event_kinds("ecs_service", "running-tasks-low")] == ["ecs-task-stopped", "ecs-service-impaired"]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ecs_task_stopped_event(task(), ACCOUNT, REGION), ["ecs-task-stopped"]),
        # a deployment's or a scale-in's planned stop is left out
        (ecs_task_stopped_event(task("Scaling activity initiated by (deployment ecs-svc/1)"), ACCOUNT, REGION), []),
        # a task of another service, of another cluster, of another account
        (ecs_task_stopped_event(task(group="service:other"), ACCOUNT, REGION), []),
        (ecs_task_stopped_event(task(cluster=CLUSTER_ARN.replace("dhbw", "edt")), ACCOUNT, REGION), []),
        (ecs_task_stopped_event(task(), "222222222222", REGION), []),
        (
            ecs_service_action_event(
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/lecture-dhbw-cluster/{SERVICE}",
                CLUSTER_ARN,
                "SERVICE_TASK_START_IMPAIRED",
                ACCOUNT,
                REGION,
            ),
            ["ecs-service-impaired"],
        ),
        (
            ecs_service_action_event(
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/lecture-dhbw-cluster/{SERVICE}",
                CLUSTER_ARN,
                "SERVICE_STEADY_STATE",
                ACCOUNT,
                REGION,
                event_type="INFO",
            ),
            ["ecs-service-steady"],
        ),
        (rds_cluster_event("lecture-dhbw-cluster", "RDS-EVENT-0073", "failover", ACCOUNT, REGION), ["rds-cluster-down"]),
        (rds_cluster_event("lecture-dhbw-cluster", "RDS-EVENT-0150", "stopped", ACCOUNT, REGION), ["rds-cluster-down"]),
        (rds_cluster_event("lecture-dhbw-cluster", "RDS-EVENT-0071", "done", ACCOUNT, REGION), ["rds-cluster-up"]),
        # a snapshot finished: not a down event
        (rds_cluster_event("lecture-dhbw-cluster", "RDS-EVENT-0169", "snapshot", ACCOUNT, REGION), []),
    ],
)
def test_the_rule_and_admit_decide_alike(dhbw, event, expected):
    assert kinds_matching(event, dhbw) == expected
    # EventBridge's own matcher (moto's) with the pattern the rule is built from agrees
    assert [
        k.name
        for k in SERVICE_EVENTS.values()
        if EventPattern.load(__import__("json").dumps(k.pattern(dhbw))).matches_event(event)
    ] == expected


def test_a_service_event_names_the_alarm_whose_incident_it_opens(dhbw):
    parsed, kind, watched = parse(ecs_task_stopped_event(task(), ACCOUNT, REGION), dhbw)
    assert kind.name == "ecs-task-stopped" and watched.name == "lecture-dhbw-lecture-backend-service-running-tasks-low"
    parsed, kind, watched = parse(rds_cluster_event("lecture-dhbw-cluster", "RDS-EVENT-0072", "m", ACCOUNT, REGION), dhbw)
    assert watched.name == "lecture-dhbw-cluster-cluster-unavailable"


def test_a_malformed_or_oversized_service_event_is_refused_naming_the_field(dhbw):
    event = ecs_task_stopped_event(task(), ACCOUNT, REGION)
    del event["detail"]["clusterArn"]
    with pytest.raises(InvalidEvent, match=r"malformed ECS Task State Change event.*detail\.clusterArn"):
        parse(event, dhbw)
    big = ecs_task_stopped_event(task("x" * 5000), ACCOUNT, REGION)
    with pytest.raises(InvalidEvent, match=r"detail\.stoppedReason"):
        parse(big, dhbw)
    with pytest.raises(InvalidEvent, match="region us-east-1"):
        parse(ecs_task_stopped_event(task(), ACCOUNT, "us-east-1"), dhbw)
    with pytest.raises(InvalidEvent, match="not one this automation watches"):
        parse(ecs_task_stopped_event(task("Scaling activity initiated by (deployment x)"), ACCOUNT, REGION), dhbw)
    assert EcsTaskStateChangeEvent.model_validate(ecs_task_stopped_event(task(), ACCOUNT, REGION)).detail.lastStatus == "STOPPED"


def test_every_down_alarm_kind_is_detected_within_a_minute():
    for alarms in ALARMS_BY_KIND.values():
        for a in alarms:
            if a.down:
                assert a.period_seconds == 60 and a.datapoints_to_alarm is not None
                assert a.detection_seconds <= 60, a.condition


def test_datapoints_to_alarm_must_fit_the_evaluation_periods():
    with pytest.raises(ValueError, match="datapoints_to_alarm 4 must be within 1..3"):
        AlarmKind(
            condition="x",
            description="x",
            namespace="n",
            metric="m",
            statistic="Sum",
            comparison="LessThanThreshold",
            threshold=1,
            period_seconds=60,
            evaluation_periods=3,
            datapoints_to_alarm=4,
            severity=Severity.P1,
            impact="x",
        )
