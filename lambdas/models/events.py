"""The events respond is started with, as EventBridge delivers them: a CloudWatch "Alarm State Change", or a
"Scheduled Event" of one of the stack's schedule rules, or a CloudTrail event of a security event kind
(catalog/security.py), or an ECS / RDS event of a service event kind (catalog/service_events.py).

The envelope mirrors Powertools' EventBridgeModel. It is declared here rather than imported from
aws_lambda_powertools.utilities.parser.models because importing that package builds every event
model Powertools ships (~0.1 s of cold start, measured by `make bench`).

Every free-text field is bounded, so no execution state can approach Step Functions' 256 KB: an event
above the limits is rejected by admit (InvalidEvent) before anything is written.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from catalog.alarms import AlarmStateValue

# CloudWatch's own limits: alarm names 255, state reasons 1023, reason data 4000 characters.
CONFIGURATION_MAX_BYTES = 16 * 1024
Arn = Annotated[str, StringConstraints(max_length=2048)]


class _Event(BaseModel):
    # built on first use: admit meets one of the three event shapes per invocation (cold start, `make bench`)
    model_config = ConfigDict(defer_build=True)


class AlarmState(_Event):
    value: AlarmStateValue
    reason: str = Field(default="", max_length=1023)
    reasonData: str | None = Field(default=None, max_length=4000)
    timestamp: datetime


class AlarmDetail(_Event):
    alarmName: str = Field(min_length=1, max_length=255)
    state: AlarmState
    previousState: AlarmState | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)

    @field_validator("configuration")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, default=str))
        if size > CONFIGURATION_MAX_BYTES:
            raise ValueError(f"is {size} bytes serialized, above the limit of {CONFIGURATION_MAX_BYTES}")
        return value


class EventBridgeEvent(_Event):
    """The envelope every event shares, declared once; each event narrows source, resources, detail-type and
    detail (a field declared again keeps its place, so errors are reported in the envelope's order)."""

    version: str = Field(max_length=16)
    id: str = Field(max_length=128)
    source: str = Field(max_length=256)
    account: str = Field(max_length=12)
    time: datetime
    region: str = Field(max_length=32)
    resources: list[Arn] = Field(default_factory=list, max_length=10)
    detail_type: str = Field(alias="detail-type", max_length=256)
    detail: Any = None


class AlarmStateChangeEvent(EventBridgeEvent):
    source: Literal["aws.cloudwatch"]
    resources: list[Arn] = Field(max_length=10)
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmDetail


class ScheduledEvent(EventBridgeEvent):
    """What a schedule rule delivers: the rule's ARN in ``resources``, the scheduled time in ``time``."""

    source: Literal["aws.events"]
    resources: list[Arn] = Field(min_length=1, max_length=1)
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    detail: dict[str, Any] = Field(default_factory=dict, max_length=0)


CLOUDTRAIL_PART_MAX_BYTES = 16 * 1024


def _bounded_part(value: dict[str, Any] | None) -> dict[str, Any] | None:
    size = len(json.dumps(value, default=str)) if value is not None else 0
    if size > CLOUDTRAIL_PART_MAX_BYTES:
        raise ValueError(f"is {size} bytes serialized, above the limit of {CLOUDTRAIL_PART_MAX_BYTES}")
    return value


class UserIdentity(_Event):
    """Who made the call. An AWS service has no ARN (invokedBy); a failed sign-in may hide the user name."""

    type: str = Field(default="", max_length=64)
    arn: Arn | None = None
    accountId: str | None = Field(default=None, max_length=12)
    principalId: str | None = Field(default=None, max_length=256)
    userName: str | None = Field(default=None, max_length=256)
    invokedBy: str | None = Field(default=None, max_length=256)


class CloudTrailDetail(_Event):
    """The CloudTrail record in an "AWS API Call via CloudTrail" or "AWS Console Sign In via CloudTrail" event.
    Fields not listed (sessionContext, tlsDetails, ...) are ignored; the listed free-form parts are bounded."""

    eventSource: str = Field(min_length=1, max_length=128)
    eventName: str = Field(min_length=1, max_length=128)
    eventTime: datetime
    awsRegion: str = Field(default="", max_length=32)
    eventID: str | None = Field(default=None, max_length=128)
    userIdentity: UserIdentity
    sourceIPAddress: str | None = Field(default=None, max_length=256)  # an IP, or a service's name
    userAgent: str | None = Field(default=None, max_length=1024)
    errorCode: str | None = Field(default=None, max_length=256)
    errorMessage: str | None = Field(default=None, max_length=1024)
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    additionalEventData: dict[str, Any] | None = None

    @field_validator("requestParameters", "responseElements", "additionalEventData")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _bounded_part(value)


class CloudTrailEvent(EventBridgeEvent):
    """A CloudTrail event as EventBridge delivers it (the security events of catalog/security.py)."""

    source: str = Field(pattern=r"^aws\.[a-z0-9-]{1,60}$")
    resources: list[Arn] = Field(default_factory=list, max_length=10)
    detail_type: Literal["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"] = Field(alias="detail-type")
    detail: CloudTrailDetail


# Service events (catalog/service_events.py): what ECS and RDS send when a service goes down or comes back.
# Only the fields admit reads are declared (others, such as containers or attachments, are ignored), each bounded.
Text = Annotated[str, StringConstraints(max_length=1024)]


class EcsTaskStateDetail(_Event):
    """An "ECS Task State Change" (ECS developer guide, "Amazon ECS task state change events")."""

    clusterArn: Arn
    taskArn: Arn
    group: str = Field(min_length=1, max_length=512)  # "service:<name>" for a service's task
    lastStatus: str = Field(max_length=32)
    desiredStatus: str | None = Field(default=None, max_length=32)
    stoppedReason: Text | None = None
    stopCode: str | None = Field(default=None, max_length=64)
    startedBy: str | None = Field(default=None, max_length=256)
    taskDefinitionArn: Arn | None = None
    stoppedAt: datetime | None = None
    updatedAt: datetime | None = None


class EcsTaskStateChangeEvent(EventBridgeEvent):
    source: Literal["aws.ecs"]
    detail_type: Literal["ECS Task State Change"] = Field(alias="detail-type")
    detail: EcsTaskStateDetail


class EcsServiceActionDetail(_Event):
    """An "ECS Service Action" (ECS developer guide, "Amazon ECS service action events"); the service is in
    the envelope's ``resources``."""

    clusterArn: Arn
    eventType: Literal["INFO", "WARN", "ERROR"]
    eventName: str = Field(min_length=1, max_length=128)
    reason: Text | None = None
    createdAt: datetime | None = None


class EcsServiceActionEvent(EventBridgeEvent):
    source: Literal["aws.ecs"]
    resources: list[Arn] = Field(min_length=1, max_length=10)
    detail_type: Literal["ECS Service Action"] = Field(alias="detail-type")
    detail: EcsServiceActionDetail


class RdsClusterEventDetail(_Event):
    """An "RDS DB Cluster Event" (RDS user guide, "Amazon RDS event examples")."""

    EventID: str = Field(pattern=r"^RDS-EVENT-\d{4}$")
    SourceIdentifier: str = Field(min_length=1, max_length=255)
    SourceType: str | None = Field(default=None, max_length=64)
    SourceArn: Arn | None = None
    Message: Text | None = None
    Date: datetime | None = None
    EventCategories: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default_factory=list, max_length=10)


class RdsClusterEvent(EventBridgeEvent):
    source: Literal["aws.rds"]
    detail_type: Literal["RDS DB Cluster Event"] = Field(alias="detail-type")
    detail: RdsClusterEventDetail


SERVICE_EVENT_MODELS: dict[str, type[EventBridgeEvent]] = {
    "ECS Task State Change": EcsTaskStateChangeEvent,
    "ECS Service Action": EcsServiceActionEvent,
    "RDS DB Cluster Event": RdsClusterEvent,
}
