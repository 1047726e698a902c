"""Builders shared by the unit tests: real-shaped alarm events, the dhbw ECS service, table reads."""

import copy
from datetime import UTC, datetime

ACCOUNT = "111111111111"
REGION = "eu-central-1"
CUSTOMER = "dhbw"
CLUSTER = "lecture-dhbw-cluster"
SERVICE = "lecture-backend-service"
TABLE_NAME = "lecture-dhbw-remediation"
MODE_PARAMETER = "/lecture/dhbw/remediation/mode"
CPU_ALARM = "lecture-dhbw-lecture-backend-service-cpu-high"
TASKS_ALARM = "lecture-dhbw-lecture-backend-service-running-tasks-low"
ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"

NOW = datetime(2026, 11, 26, 9, 15, 0, tzinfo=UTC)
ALARM_AT = "2026-11-26T09:12:33.123+0000"  # CloudWatch's own timestamp format
OK_AT = "2026-11-26T09:31:05.456+0000"

_REASONS = {
    "ALARM": "Threshold Crossed: 3 out of the last 3 datapoints [91.2 (26/11/26 09:11:00)] were greater than "
    "or equal to the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).",
    "OK": "Threshold Crossed: 3 out of the last 3 datapoints [41.0 (26/11/26 09:30:00)] were not greater than "
    "or equal to the threshold (80.0) (minimum 3 datapoints for ALARM -> OK transition).",
    "INSUFFICIENT_DATA": "Insufficient Data: 3 datapoints were unknown.",
}


def alarm_event(
    state: str = "ALARM",
    previous: str = "OK",
    *,
    alarm: str = CPU_ALARM,
    account: str = ACCOUNT,
    at: str = ALARM_AT,
    previous_at: str = "2026-11-26T08:02:10.001+0000",
    event_id: str = "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
) -> dict:
    """A "CloudWatch Alarm State Change" event exactly as EventBridge delivers it."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": at[:19] + "Z",
        "region": REGION,
        "resources": [f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "state": {
                "value": state,
                "reason": _REASONS[state],
                "reasonData": '{"version":"1.0","queryDate":"2026-11-26T09:12:33.120+0000","statistic":"Average",'
                '"period":60,"recentDatapoints":[91.2],"threshold":80.0}',
                "timestamp": at,
            },
            "previousState": {
                "value": previous,
                "reason": _REASONS[previous],
                "timestamp": previous_at,
            },
            "configuration": {
                "description": "ECS service CPU utilisation is high (P2). Automation: scale-ecs-service",
                "metrics": [
                    {
                        "id": "4a4a5a9b-0000-4000-8000-000000000001",
                        "metricStat": {
                            "metric": {
                                "namespace": "AWS/ECS",
                                "name": "CPUUtilization",
                                "dimensions": {"ClusterName": CLUSTER, "ServiceName": SERVICE},
                            },
                            "period": 60,
                            "stat": "Average",
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }


class AsDelivered:
    """A CloudWatch client for admit whose alarm is in the state the event says, since the event's time: the
    event is confirmed (DescribeAlarms), as a genuine, timely event is. Tests of forged or late events use moto."""

    def __init__(self, event: object):
        detail = event.get("detail") if isinstance(event, dict) else None
        state = detail.get("state") if isinstance(detail, dict) else None
        self.alarm = detail.get("alarmName") if isinstance(detail, dict) else None
        self.state = state if isinstance(state, dict) else {}

    def describe_alarms(self, AlarmNames, **_):
        from lambdas.models.events import AlarmState

        if self.alarm not in AlarmNames or "value" not in self.state:
            return {"MetricAlarms": [], "CompositeAlarms": []}
        parsed = AlarmState.model_validate(self.state)
        return {
            "MetricAlarms": [{"AlarmName": self.alarm, "StateValue": parsed.value, "StateUpdatedTimestamp": parsed.timestamp}],
            "CompositeAlarms": [],
        }


def without(event: dict, dotted: str) -> dict:
    """A deep copy of the event with one (dotted) field removed."""
    copied = copy.deepcopy(event)
    *parents, last = dotted.split(".")
    node = copied
    for part in parents:
        node = node[part]
    del node[last]
    return copied


def create_service(ecs, desired: int = 2) -> None:
    """dhbw's cluster and backend service, as the customer's Terraform creates them."""
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="lecture-backend",
        containerDefinitions=[{"name": "backend", "image": "lecture/backend:1", "memory": 512, "essential": True}],
    )
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="lecture-backend", desiredCount=desired)


def desired_count(ecs) -> int:
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["desiredCount"]


def all_items(table) -> list[dict]:
    return table.scan()["Items"]


def item(table, pk: str, sk: str) -> dict | None:
    return table.get_item(Key={"pk": pk, "sk": sk}).get("Item")


def status_queue(session, topic_name: str = "lecture-dhbw-status-updates") -> tuple[str, object, str]:
    """An SNS topic with an SQS queue subscribed: returns (topic_arn, sqs client, queue_url)."""
    sns = session.client("sns")
    sqs = session.client("sqs")
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{topic_name}-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, sqs, queue_url
