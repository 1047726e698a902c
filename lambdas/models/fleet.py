"""The incident event: what a customer stack tells the ops account about one of its incidents (issue 16).

Put on the customer's default bus with source lecture.remediation and detail type "Lecture Incident"
(catalog/naming.py); a rule forwards it to the ops bus. EventBridge delivers it at least once and in any order:
``time`` (the state change's, or the settling's) is what the ops side orders by. A public format: extend it,
never rename a field.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# open: admit opened (or continued) the incident; closed: admit closed it (the alarm is OK);
# settled: record wrote the runbook's outcome (the incident stays as it was)
IncidentState = Literal["open", "closed", "settled"]


class IncidentEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    customer: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    incident_id: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=200)  # "<resource kind>/<condition>", as catalog.alarms names it
    severity: Literal["P0", "P1", "P2", "P3"]
    resource: str = Field(min_length=1, max_length=512)
    state: IncidentState
    time: AwareDatetime
    down: bool  # the alarm kind means the customer is down (catalog.alarms AlarmKind.down)
    alarm: str = Field(default="", max_length=255)
    outcome: str | None = Field(default=None, max_length=100)  # settled: the runbook's outcome
    message: str | None = Field(default=None, max_length=1024)
    mode: Literal["enforce", "dry-run", "off"] | None = None  # the customer's mode switch as admit read it

    def to_detail(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def at_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)
