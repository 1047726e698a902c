"""What the steps hand each other: admit's decision, the base of every runbook's plan (``PlanBase``; each plan
is declared in its runbook's module), record's result, and the shapes several steps share.

Field names are the JSON keys the state machines read by JSONPath ($.admit.decision, $.plan.proceed, ...),
the sandbox timeline shows and the audit rows keep: a public format. Logic takes and returns these models;
only the Lambda edge (handlers, the runbook kit) parses dicts into them and dumps them with ``to_json``.

``to_json`` drops the fields a step never set (exclude_unset), so each step returns exactly the keys it did
when these were dicts: a key that is null today (previous_state, opened_at) stays null, an absent one absent.
"""

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.alarms import AlarmStateValue
from catalog.customer import Mode
from catalog.validation import describe
from lambdas.errors import InvalidInput

# run: a scheduled runbook run (no page before it; record pages what needs a person); join: the event or alarm
# belongs to an incident already open and paged (a service event's, catalog/service_events.py): recorded, not paged
DecisionName = Literal["remediate", "run", "page", "resolve", "duplicate", "ignore", "join"]


class StepModel(BaseModel):
    # built on first use: a function uses a few of these shapes, never all (cold start, `make bench`)
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        """The dict this step returns to Step Functions: the keys it set, by their JSON names."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


Step = TypeVar("Step", bound=StepModel)


def parse_step(model: type[Step], raw: object, what: str, error: type[Exception] = InvalidInput) -> Step:
    """A step's JSON at the Lambda edge -> its model; anything else is refused with a message naming the field."""
    if not isinstance(raw, dict):
        raise error(f"{what}: expected a JSON object, got {type(raw).__name__}; nothing was changed")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(describe(exc, what) + "; nothing was changed") from None


class PlanBase(StepModel):
    """The fields the runbook workflow reads from every plan ($.plan.proceed, $.plan.verify, $.plan.settled,
    $.plan.wait_seconds, $.plan.outcome ...), declared once. A runbook's plan adds what it acts on.
    Only the fields a step set are in its JSON (``to_json``)."""

    runbook: str
    customer: str
    mode: Mode = "dry-run"  # a plan that does not say is held to the safe mode
    dry_run: bool = False
    incident_id: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    summary: str | None = None  # the plan in a line (the sandbox timeline shows it)
    polls: int = 0
    max_polls: int = 0
    wait_seconds: int = 0  # before the next verify (the runbook workflow's WaitBeforeVerify)
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None  # act: verify polls only after a real change
    settled: bool | None = None


class Decision(StepModel):
    """What admit decided about one alarm state change or scheduled run (then ``alarm`` is the schedule's rule
    and ``condition`` is "schedule"). The resource kind's target field (e.g. "service",
    catalog/kinds.py) is carried as an extra key next to ``target``: each kind names its own."""

    model_config = ConfigDict(extra="allow")

    customer: str
    alarm: str
    kind: str  # the resource kind: its diagnosis is lambdas/diagnosis/<kind>.py
    target: str
    condition: str
    state: AlarmStateValue | None = None  # the alarm's new state; none for a scheduled run
    previous_state: AlarmStateValue | None = None
    reason: str = ""
    state_timestamp: str
    severity: str
    impact: str
    dedup_key: str
    description: str
    runbook: str = ""  # always set: the workflow's Choice states compare it
    team: str = "infrastructure"  # who is paged: a team in the customer's paging config
    incident_id: str | None = None
    decision: DecisionName
    note: str = ""
    mode: Mode | None = None
    mode_note: str | None = None
    runbook_input: dict[str, Any] | None = None
    child_execution_name: str | None = None
    opened_at: str | None = None
    restore_input: dict[str, Any] | None = None
    # a security event (lambdas/logic/security.py): who did what where, its burst window; on the page
    security_event: dict[str, Any] | None = None
    # a service event (lambdas/logic/service_events.py): which kind, what happened, when; on the page
    service_event: dict[str, Any] | None = None


class ScalableTarget(StepModel):
    min: int
    max: int


class Alert(StepModel):
    """A page a runbook asks for besides its outcome's (e.g. one per stale lock): record sends it. P0-P2 go to
    PagerDuty on dedup_key <prefix>/<key> (a resolve closes it); P3 is a status update only, never a page."""

    key: str = Field(min_length=1, max_length=200)  # what stays the same across runs, e.g. "state-lock/<lock id>"
    action: Literal["trigger", "resolve"] = "trigger"
    severity: Literal["P0", "P1", "P2", "P3"] = "P2"
    summary: str = Field(default="", max_length=1024)  # PagerDuty's limit for payload.summary
    details: dict[str, Any] = Field(default_factory=dict)


class Outcome(StepModel):
    """What a step ended with, as record and page read it whatever the runbook: a runbook execution's output
    ($.remediation.Output) or its on-resolve step's ($.restore). Its other keys are kept (paged whole)."""

    model_config = ConfigDict(extra="allow")

    outcome: str | None = None
    message: str | None = None
    alerts: list[Alert] | None = Field(default=None, max_length=50)


class RecordResult(StepModel):
    """record's row in the audit trail and its return value."""

    incident_id: str
    decision: str  # admit's decision, "rejected" when admit itself failed
    outcome: str | None = None
    alarm: str | None = None
    runbook: str | None = None
    message: str | None = None
    error: str | None = None
    paged: bool | None = None
    alerts: list[str] | None = None  # the runbook's own alerts sent: "<action> <severity> <key>"
    recheck: bool | None = None  # respond looks at the alarm again after paging.recheck_minutes
    change_event: bool | None = None  # a PagerDuty change event was sent for the change the runbook made
    page_error: str | None = None


class StateLock(StepModel):
    """One Terraform lock as found: the DynamoDB item's Info or the S3 .tflock body."""

    kind: Literal["dynamodb", "s3"]
    id: str
    who: str = ""
    operation: str = ""
    created: str = ""
    age_minutes: float | None = None
    stale: bool = False
    unlock_command: str = ""
