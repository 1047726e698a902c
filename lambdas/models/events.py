"""The CloudWatch "Alarm State Change" event as EventBridge delivers it.

The envelope mirrors Powertools' EventBridgeModel. It is declared here rather than imported from
aws_lambda_powertools.utilities.parser.models because importing that package builds every event
model Powertools ships (~0.1 s of cold start, measured by `make bench`).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AlarmStateValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


class AlarmState(BaseModel):
    value: AlarmStateValue
    reason: str = ""
    reasonData: str | None = None
    timestamp: datetime


class AlarmDetail(BaseModel):
    alarmName: str = Field(min_length=1)
    state: AlarmState
    previousState: AlarmState | None = None
    configuration: dict = Field(default_factory=dict)


class AlarmStateChangeEvent(BaseModel):
    version: str
    id: str
    source: Literal["aws.cloudwatch"]
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmDetail
