"""What the steps hand each other: admit's decision, a runbook's plan, record's result.

Field names are the JSON keys the state machines read by JSONPath ($.admit.decision, $.plan.proceed, ...),
the sandbox timeline shows and the audit rows keep: a public format. Logic takes and returns these models;
only the Lambda edge (handlers, a runbook's step wiring) parses dicts into them and dumps them with ``to_json``.

``to_json`` drops the fields a step never set (exclude_unset), so each step returns exactly the keys it did
when these were dicts: a key that is null today (previous_state, opened_at) stays null, an absent one absent.
"""

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.customer import Mode
from catalog.validation import describe
from lambdas.errors import InvalidInput
from lambdas.models.events import AlarmStateValue

# run: a scheduled runbook run (no page before it; record pages what needs a person)
DecisionName = Literal["remediate", "run", "page", "resolve", "duplicate", "ignore"]


class StepModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

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


class ScalableTarget(StepModel):
    min: int
    max: int


class PreviousScale(StepModel):
    desired: int
    scalable_target: ScalableTarget | None = None


class ScalePlan(StepModel):
    """scale-ecs-service's plan: guard makes it, act and verify add to it; its last form is the outcome."""

    runbook: str
    customer: str
    cluster: str
    service: str
    min: int
    max: int
    mode: Mode
    dry_run: bool
    incident_id: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    polls: int = 0
    max_polls: int
    wait_seconds: int  # between verify polls (the runbook workflow's WaitBeforeVerify)
    from_: int | None = Field(default=None, alias="from")  # desired count guard read
    to: int | None = None  # desired count the plan sets
    scalable_target: ScalableTarget | None = None
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None  # act: verify polls only after a real change
    previous: PreviousScale | None = None
    running: int | None = None
    settled: bool | None = None


class RestorePlan(StepModel):
    """The on-resolve step's answer to "when does what go back" ($.restore.due, $.restore.at)."""

    due: bool
    service: str
    message: str
    at: str | None = None
    floor: int | None = None
    current: int | None = None


class RestoreResult(StepModel):
    restored: bool
    service: str
    message: str
    floor: int | None = None


class SnapshotPlan(StepModel):
    """snapshot-rds-cluster's plan: guard makes it, act and verify add to it; its last form is the outcome.
    phase: "create" (not tried yet), "busy" (the cluster was busy: retried with backoff), "creating" (the
    snapshot exists, verify polls it), "done"."""

    runbook: str
    customer: str
    cluster: str
    mode: Mode
    dry_run: bool
    trigger: Literal["manual", "alarm", "schedule"]
    execution: str
    started: str  # the execution's start time (ISO): the snapshot's name and how long it took
    snapshot: str  # lecture-<c>-<manual|auto>-YYYYMMDD-HHMMSS-<suffix>
    summary: str | None = None  # the plan in a line (the sandbox's timeline shows it)
    tags: dict[str, str]
    incident_id: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    phase: Literal["create", "busy", "creating", "done"] = "create"
    busy_checks: int = 0  # how often the cluster was found busy
    max_busy_checks: int
    polls: int = 0  # how often the snapshot's status was read
    max_polls: int
    wait_seconds: int  # before the next check (the runbook workflow's WaitBeforeVerify): grows while busy
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None
    settled: bool | None = None
    status: str | None = None  # the snapshot's status
    size_gb: int | None = None  # AllocatedStorage
    took_seconds: int | None = None  # from the execution's start to available
    pruned: list[str] | None = None  # deleted by prune (would be, in dry-run)
    kept: list[str] | None = None  # the automation's snapshots prune kept


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


class StateVersion(StepModel):
    """What the state backup checked: a state object's identity (or the last backup's)."""

    serial: int
    lineage: str
    digest: str  # MD5 of the body, hex
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None


class BackupPlan(StepModel):
    """backup-terraform-state's plan: guard checks the state against the last backup, act copies exactly the
    checked version to both keys, verify checks both copies."""

    runbook: str
    customer: str
    state_bucket: str
    state_key: str
    backup_bucket: str
    dated_key: str  # <prefix>terraform.tfstate.YYYYMMDD
    backup_key: str  # <prefix>terraform.tfstate.backup
    mode: Mode
    dry_run: bool
    incident_id: str | None = None
    reason: str | None = None
    versioning: bool | None = None
    state: StateVersion | None = None
    last_backup: StateVersion | None = None
    notes: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    written: dict[str, str] = Field(default_factory=dict)  # key -> ETag of the copy
    summary: str | None = None  # what guard's plan will copy, in one line (the sandbox timeline shows it)
    polls: int = 0
    max_polls: int
    wait_seconds: int
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None
    settled: bool | None = None


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


class LockCheck(StepModel):
    """check-state-lock's answer; everything happens in guard (proceed is always false)."""

    runbook: str
    customer: str
    lock_path: str
    stale_after_minutes: int
    incident_id: str | None = None
    reason: str | None = None
    locks: list[StateLock] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    proceed: bool = False
    outcome: str | None = None
    message: str | None = None


class RecordedService(StepModel):
    """A service as the maintenance window found it: what it goes back to."""

    desired: int
    floor: int | None = None  # the Application Auto Scaling MinCapacity; None: no scalable target
    max: int | None = None  # its MaxCapacity (kept as it is)


class MaintenancePlan(StepModel):
    """maintenance-window's plan: guard makes it, each step adds to it; its last form is the outcome."""

    runbook: str
    customer: str
    cluster: str
    services: list[str]
    minutes: int  # how long the window stays open (for "until done": the maximum)
    until_done: bool
    wait_seconds: int  # the window's wait, then the verify polls' interval
    mode: Mode
    dry_run: bool
    execution: str
    incident_id: str
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    found: dict[str, RecordedService] = Field(default_factory=dict)  # what guard read (shown, not trusted)
    recorded: dict[str, RecordedService] = Field(default_factory=dict)  # what scale_down recorded in the table
    backup_input: dict[str, Any] = Field(default_factory=dict)
    snapshot_input: dict[str, Any] = Field(default_factory=dict)
    backup_execution: str = ""
    snapshot_execution: str = ""
    opened: str | None = None
    expires: str | None = None
    backups: dict[str, str] = Field(default_factory=dict)  # child runbook -> its outcome
    done_summary: str | None = None  # until done: what the operator's "done" (answered like an approval) ends
    polls: int = 0
    max_polls: int
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None
    settled: bool | None = None
    running: dict[str, int] = Field(default_factory=dict)


class ClusterRestore(StepModel):
    """What restore-rds-cluster's and restore-drill's plans share: a snapshot of the customer's cluster restored to a new
    cluster (never the original), then polled until available."""

    runbook: str
    customer: str
    cluster: str  # the original: never changed
    snapshot: str
    snapshot_created: str  # the snapshot's creation time (ISO): act compares it, a different one is another snapshot
    engine: str = "aurora-postgresql"
    subnet_group: str | None = None  # the original's: the restore lands in the same network
    security_groups: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    mode: Mode
    dry_run: bool
    trigger: Literal["manual", "alarm", "schedule"] = "manual"
    execution: str
    started: str
    incident_id: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    summary: str | None = None
    polls: int = 0
    max_polls: int
    wait_seconds: int
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None
    settled: bool | None = None
    restore_started: str | None = None  # when act called RestoreDBClusterFromSnapshot (ISO)
    status: str | None = None  # the new cluster's
    endpoint: str | None = None


class RestoreClusterPlan(ClusterRestore):
    """restore-rds-cluster's plan: guard names the snapshot and the new cluster (what the approver sees), act
    re-reads the snapshot and restores, verify polls the new cluster until available."""

    restored_cluster: str  # lecture-<c>-cluster-restored
    snapshot_type: str = ""
    approval_summary: str | None = None  # set only when it asks for approval
    approval: dict[str, Any] | None = None  # who approved, when, their comment (act copies it from its input)
    took_seconds: int | None = None  # from the restore call to available


class DrillPlan(ClusterRestore):
    """restore-drill's plan. phase: "restore" (not started), "creating" (verify polls the drill cluster),
    "deleting" (the drill cluster is being deleted), "done"."""

    drill_cluster: str  # lecture-<c>-drill-<yyyymmddhhmm>
    phase: Literal["restore", "creating", "deleting", "done"] = "restore"
    available_at: str | None = None
    rto_seconds: int | None = None  # the recovery-time figure: restore call to available
    deleted: bool | None = None


class HealthCheckItem(StepModel):
    name: str  # ecs:<service>, rds:<cluster>, content_bucket, state_lock, mode, window:<service>
    status: Literal["pass", "warn", "fail"]
    detail: str


class HealthReport(StepModel):
    """health-check's answer; everything happens in guard (proceed is always false)."""

    runbook: str
    customer: str
    checked_at: str
    incident_id: str | None = None
    reason: str | None = None
    trigger: Literal["manual", "alarm", "schedule"] = "manual"
    checks: list[HealthCheckItem] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)  # pass / warn / fail
    published: bool = False  # the summary went to the status topic
    notes: list[str] = Field(default_factory=list)
    proceed: bool = False
    outcome: str | None = None
    message: str | None = None


class UnlockPlan(StepModel):
    """force-unlock-state's plan: guard shows the lock (approval_summary), act re-reads it and removes exactly
    that lock: the DynamoDB item whose Info is ``dynamodb_info``, the .tflock whose ETag is ``tflock_etag``."""

    runbook: str
    customer: str
    lock_path: str  # <state bucket>/<key>: the DynamoDB LockID
    lock_table: str
    state_bucket: str
    tflock_key: str  # <key>.tflock
    lock_id: str  # the input's: the lock a person asked to remove
    mode: Mode
    dry_run: bool
    incident_id: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    locks: list[StateLock] = Field(default_factory=list)  # every lock found on the state
    dynamodb_info: str | None = None  # the exact Info of the DynamoDB lock to remove (the delete's condition)
    tflock_etag: str | None = None  # the ETag of the .tflock to remove (the delete's If-Match)
    approval_summary: str | None = Field(default=None, max_length=1000)
    summary: str | None = None
    removed: list[str] = Field(default_factory=list)  # "dynamodb <table>/<LockID>", "s3 s3://<bucket>/<key>"
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None
    wait_seconds: int = 0


class StateFile(StepModel):
    """A state object as read: its identity (ETag, VersionId), what it holds, and whether it is a valid state."""

    bucket: str
    key: str
    etag: str | None = None  # None: the object does not exist
    version_id: str | None = None
    digest: str | None = None  # MD5 of the body, hex
    size: int | None = None
    valid: bool = False  # JSON of version 4 with an integer serial and a lineage
    problem: str | None = None  # why it is not valid
    serial: int | None = None
    lineage: str | None = None
    resources: int | None = None  # len(resources)


class RestoreStatePlan(StepModel):
    """restore-terraform-state's plan: guard checks the backup against the state and shows the difference
    (approval_summary); act copies the state as guard saw it to ``corrupted_key``, then writes the backup over
    the state only if both are still what guard read."""

    runbook: str
    customer: str
    state_bucket: str
    state_key: str
    backup_bucket: str
    backup_key: str  # the chosen backup: <prefix>terraform.tfstate.backup or .YYYYMMDD
    corrupted_key: str  # <prefix>terraform.tfstate.corrupted-YYYYMMDDTHHMMSSZ (the execution's start)
    lock_path: str
    lock_table: str
    allow_lineage_change: bool = False
    mode: Mode
    dry_run: bool
    incident_id: str | None = None
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    state: StateFile | None = None
    backup: StateFile | None = None
    serial_change: int | None = None  # backup serial - state serial (None: the state has no readable serial)
    resource_change: int | None = None  # backup resources - state resources
    approval_summary: str | None = Field(default=None, max_length=1000)
    summary: str | None = None
    written: dict[str, str] = Field(default_factory=dict)  # "s3://bucket/key" -> ETag written
    digest_updated: bool | None = None
    proceed: bool | None = None
    outcome: str | None = None
    message: str | None = None
    verify: bool | None = None
    wait_seconds: int = 0
