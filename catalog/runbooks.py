"""Runbooks, each declared once: name, input model, the AWS actions it needs, its guard rails.

The stack derives the Lambda, its IAM policy (scoped to the customer's resources) and the state
machine from a declaration; the Lambda validates its input with the same model.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog import naming
from catalog.customer import CustomerConfig, Mode
from catalog.permissions import Condition, Permission


@dataclass(frozen=True)
class Outcome:
    """One way a runbook can end. ``kind`` says what it means for the on-call (Cloud Custodian's action
    registry in spirit): ok (done), skipped (nothing to do, or dry-run), refused (a guard rail said no)
    or failed (it tried and did not get there). refused and failed need a person and are paged."""

    name: str
    kind: Literal["ok", "skipped", "refused", "failed"]
    meaning: str
    # the automation changed something (a scale, a snapshot, a backup): record sends PagerDuty a change event
    change: bool = False

    @property
    def needs_person(self) -> bool:
        return self.kind in ("refused", "failed")


# Every runbook that asks for approval ends in one of these when the approval does not hold.
APPROVAL_OUTCOMES = (
    Outcome("rejected", "skipped", "the approval was rejected or timed out: nothing was changed"),
    Outcome("target_changed", "refused", "the target changed after it was approved (a different lock, snapshot or "
                                         "version): nothing was changed"),
)


class RunbookInput(BaseModel):
    """Fields every runbook accepts besides its own: set by the respond workflow, optional by hand."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="report what would be done, change nothing")
    mode: Mode | None = Field(default=None, description="the mode respond read; the switch is read again and the "
                                                       "stricter one applies")
    # Bounded, so no execution state can approach Step Functions' 256 KB (States.DataLimitExceeded is not
    # caught by States.ALL: the execution would die with no page and no audit row).
    incident_id: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    # who started it: a person (console, CLI), respond on an alarm, or respond on the runbook's schedule
    trigger: Literal["manual", "alarm", "schedule"] = Field(default="manual", description="set by respond")


class ScaleEcsServiceInput(RunbookInput):
    service: str = Field(min_length=1, max_length=255, description="ECS service name, e.g. lecture-backend-service")
    delta: int | None = Field(default=None, ge=-1000, le=1000, description="tasks to add (negative: remove)")
    desired: int | None = Field(default=None, ge=0, le=10000, description="absolute desired task count")

    @model_validator(mode="after")
    def _one_of(self) -> "ScaleEcsServiceInput":
        if (self.delta is None) == (self.desired is None):
            raise ValueError("give exactly one of 'delta' or 'desired'")
        if self.delta == 0:
            raise ValueError("'delta' must not be 0")
        return self


class BackupTerraformStateInput(RunbookInput):
    state_key: str = Field(min_length=1, max_length=1024, description="the S3 backend's key, e.g. "
                                                                        "lecture-dhbw/terraform.tfstate")


class CheckStateLockInput(RunbookInput):
    lock_path: str = Field(min_length=1, max_length=1100, description="the LockID Terraform uses: <state bucket>/<key>")
class SnapshotRdsClusterInput(RunbookInput):
    cluster: str = Field(min_length=1, max_length=63, description="Aurora cluster, e.g. lecture-dhbw-cluster")


class MaintenanceWindowInput(RunbookInput):
    services: list[str] = Field(min_length=1, max_length=20, description="configured ECS services to stop, e.g. "
                                                                         "[\"lecture-backend-service\"]")
    minutes: int | None = Field(default=None, ge=1, le=480, description="how long the window stays open")
    until: Literal["done"] | None = Field(default=None, description="\"done\": open until an operator says done "
                                                                     "(at most maintenance.max_minutes)")

    @model_validator(mode="after")
    def _one_of(self) -> "MaintenanceWindowInput":
        if (self.minutes is None) == (self.until is None):
            raise ValueError("give exactly one of 'minutes' or 'until': \"done\"")
        if len(set(self.services)) != len(self.services):
            raise ValueError("'services' names a service twice")
        return self


class TuneLambdaInput(RunbookInput):
    function: str = Field(min_length=1, max_length=140, description="the customer's Lambda function, e.g. "
                                                                    "lecture-dhbw-function")
    memory_mb: int | None = Field(default=None, ge=128, le=10240, description="new memory size (MB), within the "
                                                                             "customer's lambda_tuning bounds")
    timeout_seconds: int | None = Field(default=None, ge=1, le=900, description="new timeout (s), within the bounds")
    restore: bool = Field(default=False, description="put back the values from before the last tune-lambda change")

    @model_validator(mode="after")
    def _what(self) -> "TuneLambdaInput":
        if self.restore and (self.memory_mb is not None or self.timeout_seconds is not None):
            raise ValueError("give either 'restore': true or new values ('memory_mb', 'timeout_seconds'), not both")
        if not self.restore and self.memory_mb is None and self.timeout_seconds is None:
            raise ValueError("give 'memory_mb' and/or 'timeout_seconds' (or 'restore': true)")
        return self


# RDS snapshot identifiers: letters, digits and hyphens (AWS's automated ones start with "rds:")
_SNAPSHOT_ID = r"^(rds:)?[A-Za-z][A-Za-z0-9-]{0,254}$"


class RestoreRdsClusterInput(RunbookInput):
    snapshot: str | None = Field(default=None, pattern=_SNAPSHOT_ID, description="the cluster snapshot to restore; "
                                 "default: the latest available one the automation made")
    cluster: str | None = Field(default=None, min_length=1, max_length=63,
                                description="the original cluster (default: the configured rds.cluster)")


class RestoreDrillInput(RunbookInput):
    cluster: str | None = Field(default=None, min_length=1, max_length=63,
                                description="the cluster whose snapshot is drilled (default: the configured rds.cluster)")


class HealthCheckInput(RunbookInput):
    # respond's schedule names the configured cluster (the runbook's target kind); the check covers the customer
    cluster: str | None = Field(default=None, min_length=1, max_length=63,
                                description="the configured rds.cluster (optional; every check runs anyway)")


class ForceUnlockStateInput(RunbookInput):
    lock_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                         description="the ID of the lock to remove, as the stale-lock page shows it")
    # a person removes a lock on purpose: why is part of the record (and of the approval request)
    reason: str = Field(min_length=3, max_length=500, description="why the lock may go (no run is going on)")
    lock_path: str | None = Field(default=None, min_length=1, max_length=1100,
                                  description="<state bucket>/<key>; default: the configured state's")


class RestoreTerraformStateInput(RunbookInput):
    backup: str = Field(default=".backup", pattern=r"^(\.backup|[0-9]{8})$",
                        description='which backup: ".backup" (the last one) or a dated one, "YYYYMMDD"')
    reason: str = Field(min_length=3, max_length=500, description="why the state is restored")
    allow_lineage_change: bool = Field(default=False, description="restore a backup of another lineage (a "
                                                                  "replaced state): never by default")
    state_key: str | None = Field(default=None, min_length=1, max_length=1024,
                                  description="the S3 backend's key; default: the configured state's")

    @model_validator(mode="after")
    def _a_real_date(self) -> "RestoreTerraformStateInput":
        if self.backup != ".backup":
            from datetime import datetime

            try:
                datetime.strptime(self.backup, "%Y%m%d")
            except ValueError:
                raise ValueError(f"'backup' {self.backup!r} is not a date YYYYMMDD") from None
        return self


@dataclass(frozen=True)
class Runbook:
    name: str  # state machine lecture-<c>-<name>; module lambdas/runbooks/<name_with_underscores>.py
    title: str
    target_kind: str  # the resource kind (catalog/kinds.py) it acts on; its input names one instance
    input_model: type[RunbookInput]
    permissions: tuple[Permission, ...]
    guard_rails: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    example_input: dict[str, Any]
    # A step of the runbook's Lambda that undoes what must not outlast the incident; the respond workflow
    # runs it once the alarm is OK and the runbook's cooldown has passed. None: nothing to undo.
    on_resolve: str | None = None
    # When it runs by itself: an EventBridge schedule expression from the customer's config (None: off). A
    # scheduled run goes through respond like an alarm: admit claims it, the runbook runs, record pages.
    schedule: Callable[[CustomerConfig], str | None] | None = None
    schedule_input: dict[str, Any] = field(default_factory=dict)  # merged with {<target_field>: <instance>}
    # Runs before the page instead of after it (a safety net, e.g. a snapshot before people change things):
    # the page then carries its outcome.
    runs_before_page: bool = False
    # What its function may do with the automation's table (cooldowns, remembered state) and whether it reads the
    # mode switch: granted from here, so a runbook gets only what it uses.
    table_actions: tuple[str, ...] = ("GetItem", "PutItem", "DeleteItem")
    reads_mode: bool = True
    verify_interval_seconds: int = 15
    verify_max_polls: int = 20
    timeout_minutes: int = 30
    # Which construct builds its state machine: "guarded" (stacks/runbook_workflow.py: guard -> act -> verify) or
    # "maintenance" (stacks/maintenance_workflow.py). Started through respond only when "guarded".
    workflow: Literal["guarded", "maintenance"] = "guarded"
    # The input field naming its target(s), when not the target kind's own (e.g. "services": a list)
    target_field: str | None = None
    # Asks a person before act (a task token, approvals.timeout_minutes): guard's plan says what will be done in
    # ``approval_summary``; a rejection or a time-out ends the run with outcome ``rejected`` and changes nothing, and
    # act re-reads the target (``target_changed`` when it is not the one approved). Both outcomes are added here.
    approval: bool = False
    # Teams told of every run's outcome (a PagerDuty change event and a status update), with who approved it.
    notify_teams: tuple[str, ...] = ()
    # its function publishes to the customer's status topic itself (health-check's summary)
    publishes_status: bool = False

    def __post_init__(self) -> None:
        if self.approval:
            names = {o.name for o in self.outcomes}
            extra = tuple(o for o in APPROVAL_OUTCOMES if o.name not in names)
            object.__setattr__(self, "outcomes", self.outcomes + extra)

    def outcome(self, name: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.name == name), None)

    def needs_person(self, outcome: str) -> bool:
        """An outcome the runbook does not declare is treated as needing a person: never silent."""
        declared = self.outcome(outcome)
        return declared is None or declared.needs_person

    def made_change(self, outcome: str) -> bool:
        """An outcome of kind ok the runbook declares as a change (Outcome(..., change=True))."""
        declared = self.outcome(outcome)
        return declared is not None and declared.kind == "ok" and declared.change


# Scaling ECS services (and their autoscaling floor): what scale-ecs-service and maintenance-window both do.
ECS_SCALING_PERMISSIONS: tuple[Permission, ...] = (
    Permission(("ecs:DescribeServices",), resource="ecs_service"),
    Permission(("ecs:UpdateService",), resource="ecs_service", write=True),
    Permission(("application-autoscaling:DescribeScalableTargets",), resource="*"),
    # Scalable target ARNs carry a random id and no condition key names the service (Service Authorization
    # Reference); the namespace and dimension conditions keep it to ECS services' desired counts.
    Permission(("application-autoscaling:RegisterScalableTarget",), resource="ecs_service.scalable_target",
               write=True, conditions=(
                   Condition("StringEquals", "application-autoscaling:service-namespace", "ecs"),
                   Condition("StringEquals", "application-autoscaling:scalable-dimension",
                             "ecs:service:DesiredCount"))),
)


SCALE_ECS_SERVICE = Runbook(
    name="scale-ecs-service",
    title="Scale an ECS service within its bounds",
    target_kind="ecs_service",
    input_model=ScaleEcsServiceInput,
    permissions=(
        *ECS_SCALING_PERMISSIONS,
    ),
    outcomes=(
        Outcome("scaled", "ok", "the service runs the new number of tasks", change=True),
        Outcome("noop", "skipped", "the service already has the asked number of tasks"),
        Outcome("would_scale", "skipped", "dry-run: the change it would make is in the message"),
        Outcome("refused", "refused", "a guard rail said no (bounds, cooldown, mode off)"),
        Outcome("timed_out", "failed", "the new tasks did not start in time"),
    ),
    guard_rails=(
        "never above the service's max_tasks nor below its min_tasks",
        "one action per service per cooldown (cooldown_seconds, default 300)",
        "dry-run and off modes make no change; every refusal is an explicit outcome",
        "with an Application Auto Scaling target, a scale-out raises its MinCapacity to the new count (so the "
        "autoscaler does not undo it); a scale-in lowers MinCapacity only as far as needed",
        "the MinCapacity from before an incident's first raise is put back once the alarm is OK and the cooldown "
        "has passed",
        "act re-checks the plan it is given against the configuration: a forged plan changes nothing",
    ),
    on_resolve="restore",
    example_input={"service": "lecture-backend-service", "delta": 1},
)


def daily(at: str | None) -> str | None:
    """"02:30" (UTC) -> cron(30 2 * * ? *); None (switched off) -> None."""
    if at is None:
        return None
    hours, minutes = at.split(":")
    return f"cron({int(minutes)} {int(hours)} * * ? *)"


def every(minutes: int | None) -> str | None:
    """15 -> rate(15 minutes); None (switched off) -> None."""
    if minutes is None:
        return None
    return f"rate({minutes} minute{'s' if minutes != 1 else ''})"


BACKUP_TERRAFORM_STATE = Runbook(
    name="backup-terraform-state",
    title="Back up the Terraform state, refusing a rollback or a replacement",
    target_kind="terraform_state",
    input_model=BackupTerraformStateInput,
    permissions=(
        # GetObjectVersion: the copy names the checked version when the bucket is versioned
        Permission(("s3:GetObject", "s3:GetObjectVersion"), resource="terraform_state"),
        Permission(("s3:GetBucketVersioning",), resource="terraform_state.bucket"),
        Permission(("s3:GetObject",), resource="terraform_state.backup"),
        # only to tell a missing .backup (404) from a refused read (403)
        Permission(("s3:ListBucket",), resource="terraform_state.backup_bucket", conditions=(
            Condition("StringEquals", "s3:prefix", resource="terraform_state.backup_listing_value"),)),
        Permission(("s3:PutObject",), resource="terraform_state.backup", write=True),
    ),
    outcomes=(
        Outcome("backed_up", "ok", "the checked state was copied to <prefix>terraform.tfstate.YYYYMMDD and .backup",
                change=True),
        Outcome("unchanged", "skipped", "same serial and same digest as the last backup: no new copy"),
        Outcome("would_back_up", "skipped", "dry-run: the copies it would make are in the message"),
        Outcome("refused", "refused", "automation is off for the customer"),
        Outcome("serial_regressed", "refused", "the state's serial is lower than the last backup's: a possible "
                                               "rollback; .backup left untouched"),
        Outcome("lineage_changed", "refused", "the state's lineage differs from the last backup's: a possible "
                                              "replacement; .backup left untouched"),
        Outcome("state_missing", "failed", "the state object does not exist or cannot be read"),
        Outcome("state_invalid", "failed", "the state object is not JSON with version 4"),
        Outcome("state_changed", "failed", "the state changed between the check and the copy"),
        Outcome("copy_missing", "failed", "a copy is not there (or not the expected one) after the copy"),
    ),
    guard_rails=(
        "copies only a state that is JSON with version 4, of the same lineage as the last backup and a serial "
        "not lower than its serial",
        "a rollback or a replacement is refused and paged; .backup is never overwritten with it",
        "copies exactly the checked version (CopySourceIfMatch on its ETag, and its VersionId when versioned)",
        "no ACLs: the backup bucket may be another account's (bucket owner enforced)",
        "a state bucket without versioning is reported as a warning and a P3 status update",
        "dry-run and off modes make no copy",
    ),
    schedule=lambda c: daily(c.schedules.state_backup),
    table_actions=(),  # it remembers nothing: the last backup is its own record
    verify_interval_seconds=5,
    verify_max_polls=3,
    example_input={"state_key": "lecture-dhbw/terraform.tfstate", "reason": "before a risky apply"},
)

CHECK_STATE_LOCK = Runbook(
    name="check-state-lock",
    title="Find stale Terraform state locks and page them (read-only)",
    target_kind="state_lock",
    input_model=CheckStateLockInput,
    permissions=(
        Permission(("dynamodb:GetItem",), resource="state_lock", conditions=(
            Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),)),
        Permission(("s3:GetObject",), resource="state_lock.tflock"),
        Permission(("s3:ListBucket",), resource="state_lock.state_bucket", conditions=(
            Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),)),
    ),
    outcomes=(
        Outcome("no_lock", "ok", "no lock is held on the state"),
        Outcome("lock_held", "ok", "a lock younger than stale_lock_minutes is held: a run is going on, not paged"),
        Outcome("stale_lock", "ok", "a lock older than stale_lock_minutes: paged through its alerts, one per lock ID, "
                                    "resolved when it is gone"),
    ),
    guard_rails=(
        "read-only: it never removes a lock (terraform force-unlock is a person's decision)",
        "the -md5 digest item is never a lock",
        "one page per lock ID, triggered once when it becomes stale and resolved when it is gone",
        "the lock table is shared: it reads only this state's LockID (dynamodb:LeadingKeys)",
    ),
    schedule=lambda c: every(c.schedules.lock_check_minutes),
    table_actions=("GetItem", "PutItem", "DeleteItem"),  # the lock IDs it paged
    reads_mode=False,  # read-only: it changes nothing that a mode could hold back
    example_input={"lock_path": "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate",
                   "reason": "a deploy is blocked"},
)

SNAPSHOT_RDS_CLUSTER = Runbook(
    name="snapshot-rds-cluster",
    title="Snapshot an Aurora cluster, then prune the automation's old snapshots",
    target_kind="rds_cluster",
    input_model=SnapshotRdsClusterInput,
    permissions=(
        Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
        # CreateDBClusterSnapshot authorises the cluster and the new snapshot; tags on create need AddTagsToResource
        Permission(("rds:CreateDBClusterSnapshot",), resource="rds_cluster", write=True),
        Permission(("rds:CreateDBClusterSnapshot", "rds:AddTagsToResource"), resource="rds_cluster.snapshot",
                   write=True),
        Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster"),
        Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster.any_snapshot"),
        # Only the automation's own snapshots: named lecture-<c>-* AND tagged created-by=lecture-remediation.
        Permission(("rds:DeleteDBClusterSnapshot",), resource="rds_cluster.snapshot", write=True, conditions=(
            Condition("StringEquals", f"rds:cluster-snapshot-tag/{naming.CREATED_BY_TAG}", naming.CREATED_BY),)),
    ),
    outcomes=(
        Outcome("snapshot_created", "ok", "the snapshot is available; its size, how long it took and what prune "
                                          "deleted are in the message", change=True),
        Outcome("would_snapshot", "skipped", "dry-run: the snapshot it would take and what prune would delete"),
        Outcome("cooldown", "skipped", "an alarm snapshot was taken less than snapshot_on_alarm_cooldown_minutes ago"),
        Outcome("refused", "refused", "a guard rail said no (mode off)"),
        Outcome("cluster_busy", "failed", "the cluster stayed busy (not available) through every retry"),
        Outcome("quota_exceeded", "failed", "the account's snapshot quota is reached (SnapshotQuotaExceeded)"),
        Outcome("cluster_not_found", "failed", "the cluster does not exist"),
        Outcome("snapshot_timed_out", "failed", "the snapshot did not become available in time"),
        Outcome("snapshot_failed", "failed", "the snapshot ended in a status other than available"),
    ),
    guard_rails=(
        "only the configured cluster (rds.cluster); the snapshot's name must be the automation's (act re-checks)",
        "one snapshot per execution: its name comes from the execution's start time and name, so a retried act or "
        "a redrive adopts the snapshot it already made (DBClusterSnapshotAlreadyExists with its execution tag)",
        "a busy cluster is retried with backoff, a bounded number of times, then fails clearly (never skipped)",
        "an alarm snapshot at most once per snapshot_on_alarm_cooldown_minutes (default 360)",
        "prune deletes only the automation's snapshots (created-by tag, manual type, lecture-<c>- name) older than "
        "snapshot_retention_days, always keeping the newest; never AWS automated backups or people's snapshots",
        "dry-run and off modes make no change; every refusal is an explicit outcome",
    ),
    example_input={"cluster": "lecture-dhbw-cluster", "reason": "before a schema migration"},
    schedule=lambda c: daily(c.schedules.rds_snapshot),
    runs_before_page=True,
    table_actions=("GetItem", "PutItem"),  # the alarm snapshots' cooldown
    verify_interval_seconds=30,
    verify_max_polls=60,  # 30 minutes of snapshot progress
    timeout_minutes=90,  # busy retries (about 20 minutes at most) + the polls
)

MAINTENANCE_WINDOW = Runbook(
    name="maintenance-window",
    title="Maintenance window: back up, stop the services, wait, restore them to their recorded counts",
    target_kind="ecs_service",
    target_field="services",
    workflow="maintenance",
    input_model=MaintenanceWindowInput,
    permissions=(
        *ECS_SCALING_PERMISSIONS,
    ),
    outcomes=(
        Outcome("completed", "ok", "the window ended; every service runs its recorded count again", change=True),
        Outcome("would_run", "skipped", "dry-run: what the window would stop, and the counts it would restore"),
        Outcome("refused", "refused", "a guard rail said no (mode off, a window already open on a service)"),
        Outcome("backup_failed", "failed", "a backup (state or snapshot) failed: nothing was scaled down"),
        Outcome("not_running", "failed", "after the restore, a service did not reach its recorded count in time"),
    ),
    guard_rails=(
        "only configured services; minutes 1..480, \"until done\" at most maintenance.max_minutes (default 240)",
        "backs up first (backup-terraform-state and snapshot-rds-cluster as child workflows): if either does not end "
        "ok, nothing is scaled down",
        "records each service's desired count and autoscaling floor before scaling to 0, and restores exactly those",
        "while the window is open, the services' alarms page at P3 and remediate nothing",
        "the suppression is lifted on every path (a failure restores what was stopped, then lifts it); a window "
        "left open by a crashed execution expires by itself",
        "dry-run and off modes make no change",
    ),
    table_actions=("GetItem", "PutItem", "UpdateItem", "DeleteItem"),  # window#<service> rows
    verify_interval_seconds=15,
    verify_max_polls=40,
    # the longest window, plus the backups (the snapshot may take 90 minutes), the restore and its checks
    timeout_minutes=1440 + 120,
    example_input={"services": ["lecture-backend-service"], "minutes": 30, "reason": "database upgrade"},
)

TUNE_LAMBDA = Runbook(
    name="tune-lambda",
    title="Change a Lambda function's memory and timeout within bounds, after approval (and put them back)",
    target_kind="lambda_function",
    input_model=TuneLambdaInput,
    permissions=(
        Permission(("lambda:GetFunctionConfiguration",), resource="lambda_function"),
        Permission(("lambda:UpdateFunctionConfiguration",), resource="lambda_function", write=True),
    ),
    outcomes=(
        Outcome("tuned", "ok", "the function runs with the new memory and timeout; the old ones are kept for "
                               "'restore': true", change=True),
        Outcome("unchanged", "skipped", "the function already has those values"),
        Outcome("would_tune", "skipped", "dry-run: the change it would make is in the message"),
        Outcome("refused", "refused", "a guard rail said no (bounds, mode off, nothing to restore)"),
        Outcome("update_failed", "failed", "Lambda did not apply the new configuration"),
    ),
    guard_rails=(
        "memory and timeout only within the customer's lambda_tuning bounds (min/max memory_mb, timeout_seconds)",
        "only the customer's configured function",
        "a person approves the exact change shown; act applies it only to the configuration revision that was "
        "shown (RevisionId), else target_changed",
        "the values from before the change are kept in the automation's table; 'restore': true puts them back "
        "(with approval too)",
        "dry-run and off modes make no change",
    ),
    approval=True,
    table_actions=("GetItem", "PutItem"),  # the values from before the change
    verify_interval_seconds=5,
    verify_max_polls=12,
    example_input={"function": "lecture-dhbw-function", "memory_mb": 1024, "timeout_seconds": 60,
                   "reason": "timeouts under exam load"},
)

def monthly(at: str | None) -> str | None:
    """"15 03:00" (the 15th, 03:00 UTC) -> cron(0 3 15 * ? *); None (switched off) -> None."""
    if at is None:
        return None
    day, time = at.split(" ")
    hours, minutes = time.split(":")
    return f"cron({int(minutes)} {int(hours)} {int(day)} * ? *)"


_RDS_READS = (
    Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
    Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster"),
    Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster.any_snapshot"),
)

RESTORE_RDS_CLUSTER = Runbook(
    name="restore-rds-cluster",
    title="Restore an Aurora snapshot to lecture-<c>-cluster-restored, after approval",
    target_kind="rds_cluster",
    input_model=RestoreRdsClusterInput,
    permissions=(
        *_RDS_READS,
        Permission(("rds:DescribeDBClusters",), resource="rds_cluster.restored"),
        # the new cluster, from one of the cluster's snapshots, in the original's subnet group; tags on create
        Permission(("rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource"), resource="rds_cluster.restored",
                   write=True),
        Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.restorable_snapshot", write=True),
        Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.subnet_group", write=True),
    ),
    outcomes=(
        Outcome("restored", "ok", "the restored cluster is available: its endpoint and how long it took are in the "
                                  "message", change=True),
        Outcome("would_restore", "skipped", "dry-run: the snapshot it would restore, and where"),
        Outcome("refused", "refused", "automation is off for the customer"),
        Outcome("already_exists", "refused", "lecture-<c>-cluster-restored exists already: delete or rename it first"),
        Outcome("snapshot_not_found", "failed", "the named snapshot does not exist, or the automation has none"),
        Outcome("snapshot_not_usable", "refused", "the snapshot is not available or not of the customer's cluster"),
        Outcome("restore_failed", "failed", "the restored cluster ended in a status other than available"),
        Outcome("restore_timed_out", "failed", "the restored cluster did not become available in time"),
    ),
    guard_rails=(
        "needs approval: the approver sees the snapshot (id, creation time) and the new cluster's name",
        "restores only to lecture-<c>-cluster-restored; refuses if that cluster exists (never overwritten)",
        "only snapshots of the configured cluster (rds.cluster) that are available",
        "act re-reads the snapshot: if it is gone or not the one approved (a different creation time), nothing is "
        "restored (target_changed)",
        "never modifies or deletes the original cluster: its role has no Modify/Delete action at all",
        "dry-run and off modes make no change and ask for no approval",
    ),
    example_input={"cluster": "lecture-dhbw-cluster", "snapshot": "lecture-dhbw-manual-20261126-091507-3f2a1b",
                   "reason": "table dropped by mistake"},
    approval=True,
    table_actions=(),
    verify_interval_seconds=30,
    verify_max_polls=80,  # 40 minutes of restore
    timeout_minutes=60,  # the restore's polls (40 minutes); the stack adds approvals.timeout_minutes
)

RESTORE_DRILL = Runbook(
    name="restore-drill",
    title="Restore drill: restore the latest snapshot to a temporary cluster, time it, delete it",
    target_kind="rds_cluster",
    input_model=RestoreDrillInput,
    permissions=(
        *_RDS_READS,
        # to see whether a drill cluster is left over (one drill at a time): the account's cluster list (read)
        Permission(("rds:DescribeDBClusters",), resource="rds_cluster.any_cluster"),
        Permission(("rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource"), resource="rds_cluster.drill",
                   write=True),
        Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.snapshot", write=True),
        Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.subnet_group", write=True),
        # only its own drill clusters: named lecture-<c>-drill-* AND tagged drill=true and created-by
        Permission(("rds:DeleteDBCluster",), resource="rds_cluster.drill", write=True, conditions=(
            Condition("StringEquals", f"rds:cluster-tag/{naming.DRILL_TAG}", "true"),
            Condition("StringEquals", f"rds:cluster-tag/{naming.CREATED_BY_TAG}", naming.CREATED_BY))),
    ),
    outcomes=(
        Outcome("drill_passed", "ok", "the snapshot restored and became available (rto_seconds); the drill cluster "
                                      "was deleted"),
        Outcome("would_drill", "skipped", "dry-run: the snapshot it would restore, and to which drill cluster"),
        Outcome("refused", "refused", "automation is off for the customer"),
        Outcome("drill_running", "refused", "a drill cluster exists already (a drill going on, or one left over)"),
        Outcome("no_snapshot", "failed", "the automation has no available snapshot of the cluster to drill"),
        Outcome("drill_failed", "failed", "the restore did not become available (failed or timed out); the drill "
                                          "cluster was deleted"),
        Outcome("cleanup_failed", "failed", "the drill cluster could not be deleted: a person must delete it"),
    ),
    guard_rails=(
        "touches only its own cluster: lecture-<c>-drill-<yyyymmddhhmm>, tagged drill=true and created-by",
        "deletes a cluster only if its name is the drill's AND it carries both tags (checked before the delete, "
        "and by IAM: DeleteDBCluster conditioned on the tags, on the drill name pattern only)",
        "one drill at a time: a drill cluster left over is refused and paged",
        "restores only the automation's own snapshots (created-by tag, lecture-<c>- name)",
        "the restore is deleted even when it failed to become available",
        "dry-run and off modes make no change",
    ),
    example_input={"cluster": "lecture-dhbw-cluster", "reason": "monthly test of backup and recovery"},
    schedule=lambda c: monthly(c.schedules.restore_drill),
    table_actions=(),
    verify_interval_seconds=30,
    verify_max_polls=80,  # 40 minutes of restore
    timeout_minutes=120,
)

HEALTH_CHECK = Runbook(
    name="health-check",
    title="Health check: ECS services, RDS, content bucket, state lock, mode, maintenance windows (read-only)",
    target_kind="rds_cluster",
    input_model=HealthCheckInput,
    permissions=(
        Permission(("ecs:DescribeServices",), resource="ecs_service"),
        Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
        # HeadBucket is authorised by s3:ListBucket
        Permission(("s3:ListBucket",), resource="ecs_service.content_bucket"),
        Permission(("dynamodb:GetItem",), resource="state_lock", conditions=(
            Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),)),
        Permission(("s3:GetObject",), resource="state_lock.tflock"),
        Permission(("s3:ListBucket",), resource="state_lock.state_bucket", conditions=(
            Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),)),
    ),
    outcomes=(
        Outcome("healthy", "ok", "every check passed"),
        Outcome("degraded", "ok", "no check failed, some warn (the summary says which)"),
        Outcome("unhealthy", "failed", "at least one check failed: paged when it ran through respond"),
    ),
    guard_rails=(
        "read-only: it changes nothing, in any mode",
        "the summary goes to the status topic and is the workflow's output",
        "the lock table is shared: it reads only this state's LockID (dynamodb:LeadingKeys)",
    ),
    example_input={"cluster": "lecture-dhbw-cluster", "reason": "before the lecture"},
    schedule=lambda c: daily(c.schedules.health_check),
    table_actions=("GetItem",),  # open maintenance windows (window#<service>)
    publishes_status=True,
)

FORCE_UNLOCK_STATE = Runbook(
    name="force-unlock-state",
    title="Remove a stale Terraform state lock, after approval, only if it is still the same lock",
    target_kind="state_lock",
    input_model=ForceUnlockStateInput,
    permissions=(
        # the lock table is shared: only this state's LockID, never its "<path>-md5" digest item (LeadingKeys)
        Permission(("dynamodb:GetItem",), resource="state_lock", conditions=(
            Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),)),
        Permission(("dynamodb:DeleteItem",), resource="state_lock", write=True, conditions=(
            Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),)),
        Permission(("s3:GetObject",), resource="state_lock.tflock"),
        Permission(("s3:DeleteObject",), resource="state_lock.tflock", write=True),
        Permission(("s3:ListBucket",), resource="state_lock.state_bucket", conditions=(
            Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),)),
    ),
    outcomes=(
        Outcome("unlocked", "ok", "the lock shown for approval was removed (the DynamoDB item and/or the .tflock)",
                change=True),
        Outcome("no_lock", "skipped", "no lock is held on the state (any more): nothing to remove"),
        Outcome("would_unlock", "skipped", "dry-run: the lock it would remove is in the message; no approval asked"),
        Outcome("refused", "refused", "automation is off for the customer"),
        Outcome("lock_changed", "refused", "the lock held now has another ID than the input's: nothing asked, "
                                           "nothing removed; the message names the lock that is held"),
    ),
    guard_rails=(
        "approval first: the request shows the lock (ID, Who, Operation, Created) and where it is",
        "removes a lock only if it is still the same lock: act re-reads it, then deletes conditionally (DynamoDB "
        "ConditionExpression on the exact Info shown; S3 DeleteObject If-Match on the .tflock's ETag)",
        "never touches the -md5 digest item: IAM allows DeleteItem only on the state's own LockID",
        "the lock_path is the configured state's; the lock table is shared by other states",
        "dry-run and off modes remove nothing and ask no approval",
    ),
    example_input={"lock_id": "9e2b4c1d-6f3a-4b8e-a2d7-5c0f1e3b9a64", "reason": "stale lock, no run is going on",
                   "lock_path": "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate"},
    table_actions=(),
    approval=True,
    notify_teams=("infrastructure", "security"),
)

RESTORE_TERRAFORM_STATE = Runbook(
    name="restore-terraform-state",
    title="Restore the Terraform state from a backup, after approval, keeping the corrupted state",
    target_kind="terraform_state",
    input_model=RestoreTerraformStateInput,
    permissions=(
        Permission(("s3:GetObject",), resource="terraform_state"),
        Permission(("s3:GetObject",), resource="terraform_state.backup"),
        # the corrupted state's copy (<prefix>terraform.tfstate.corrupted-<time>) and nothing else but the state
        Permission(("s3:PutObject",), resource="terraform_state.backup", write=True),
        Permission(("s3:PutObject",), resource="terraform_state", write=True),
        # a run that holds the lock would overwrite the restore: refused while a lock is held
        Permission(("dynamodb:GetItem",), resource="state_lock", conditions=(
            Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),)),
        Permission(("s3:GetObject",), resource="state_lock.tflock"),
        Permission(("s3:ListBucket",), resource="state_lock.state_bucket", conditions=(
            Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),)),
        # Terraform checks the state against this digest: it is set to the restored state's (only if it exists)
        Permission(("dynamodb:UpdateItem",), resource="state_lock", write=True, conditions=(
            Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.digest_id_value"),)),
    ),
    outcomes=(
        Outcome("restored", "ok", "the corrupted state was copied to <prefix>terraform.tfstate.corrupted-<time>, "
                                  "then the backup was written over the state", change=True),
        Outcome("noop", "skipped", "the state already is the backup (same content): nothing to restore"),
        Outcome("would_restore", "skipped", "dry-run: what it would restore is in the message; no approval asked"),
        Outcome("refused", "refused", "automation is off for the customer"),
        Outcome("backup_invalid", "refused", "the backup does not exist, cannot be read, or is not JSON of "
                                             "version 4 with a serial and a lineage"),
        Outcome("lineage_changed", "refused", "the backup's lineage differs from the state's and the input does not "
                                              "say allow_lineage_change: true"),
        Outcome("state_locked", "refused", "a Terraform lock is held on the state: a run could overwrite the "
                                           "restore (remove a stale lock with force-unlock-state first)"),
    ),
    guard_rails=(
        "approval first: the request shows the backup, the state, and the difference in serial and resources",
        "the backup must be JSON of version 4; its lineage must equal the state's unless allow_lineage_change",
        "the corrupted state is copied to its own dated key before anything is written",
        "the backup is written only if the state has not changed since guard read it (If-Match on its ETag), and "
        "only the backup guard read (its ETag is checked again)",
        "refused while a Terraform lock is held on the state",
        "dry-run and off modes write nothing and ask no approval",
    ),
    example_input={"backup": ".backup", "reason": "state corrupted by an interrupted apply",
                   "state_key": "lecture-dhbw/terraform.tfstate"},
    table_actions=(),
    approval=True,
)

RUNBOOKS: dict[str, Runbook] = {r.name: r for r in (SCALE_ECS_SERVICE, SNAPSHOT_RDS_CLUSTER, BACKUP_TERRAFORM_STATE,
                                                     CHECK_STATE_LOCK, TUNE_LAMBDA, MAINTENANCE_WINDOW, RESTORE_RDS_CLUSTER,
                                                     RESTORE_DRILL, HEALTH_CHECK, FORCE_UNLOCK_STATE,
                                                     RESTORE_TERRAFORM_STATE)}


def runbook(name: str) -> Runbook:
    try:
        return RUNBOOKS[name]
    except KeyError:
        raise KeyError(f"unknown runbook {name!r}; known: {', '.join(RUNBOOKS)}") from None


@dataclass(frozen=True)
class ScheduledRun:
    rule: str  # the EventBridge rule's name
    expression: str  # cron(...) or rate(...)
    runbook: Runbook


def scheduled_runs(config: CustomerConfig) -> dict[str, ScheduledRun]:
    """Every schedule this customer's stack creates, by rule name (a schedule switched off has none)."""
    from catalog import naming

    runs = {}
    for rb in RUNBOOKS.values():
        expression = rb.schedule(config) if rb.schedule else None
        if expression:
            name = naming.schedule_rule_name(config.customer, rb.name)
            runs[name] = ScheduledRun(name, expression, rb)
    return runs
