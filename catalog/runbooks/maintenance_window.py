"""Runbook maintenance-window: its input model and its declaration."""

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from catalog.declaration import ChildRun, Outcome, Runbook, RunbookInput, register
from catalog.runbooks._permissions import ECS_SCALING_PERMISSIONS


class MaintenanceWindowInput(RunbookInput):
    services: list[str] = Field(
        min_length=1, max_length=20, description='configured ECS services to stop, e.g. ["lecture-backend-service"]'
    )
    minutes: int | None = Field(default=None, ge=1, le=480, description="how long the window stays open")
    until: Literal["done"] | None = Field(
        default=None, description='"done": open until an operator says done (at most maintenance.max_minutes)'
    )

    at: AwareDatetime | None = Field(
        default=None,
        description='book it ahead: when the window opens, an ISO time with its zone, e.g. "2027-01-15T06:00:00Z"; '
        "at least maintenance.min_notice_hours (default 48) and at most maintenance.max_ahead_days (default 30) ahead",
    )

    @model_validator(mode="after")
    def _one_of(self) -> "MaintenanceWindowInput":
        if (self.minutes is None) == (self.until is None):
            raise ValueError("give exactly one of 'minutes' or 'until': \"done\"")
        if len(set(self.services)) != len(self.services):
            raise ValueError("'services' names a service twice")
        return self


MAINTENANCE_WINDOW = register(
    Runbook(
        name="maintenance-window",
        title="Maintenance window: back up, stop the services, wait, restore them to their recorded counts",
        target_kind="ecs_service",
        target_field="services",
        workflow="maintenance",
        children=(
            # "unchanged": the last backup already equals the state
            ChildRun(
                "backup-terraform-state",
                key="terraform_state",
                input_field="backup_input",
                execution_field="backup_execution",
                question="StateBackedUp?",
                also_ok=("unchanged",),
            ),
            ChildRun(
                "snapshot-rds-cluster",
                key="rds_snapshot",
                input_field="snapshot_input",
                execution_field="snapshot_execution",
                question="SnapshotTaken?",
            ),
        ),
        input_model=MaintenanceWindowInput,
        permissions=(*ECS_SCALING_PERMISSIONS,),
        # it stops production: a named approver says yes first (for a booking, when it is booked)
        approval=True,
        books_ahead_minutes=lambda config: config.maintenance.max_ahead_days * 24 * 60,
        outcomes=(
            Outcome("completed", "ok", "the window ended; every service runs its recorded count again", change=True),
            Outcome("would_run", "skipped", "dry-run: what the window would stop, and the counts it would restore"),
            Outcome("refused", "refused", "a guard rail said no (mode off, a window already open on a service)"),
            Outcome("backup_failed", "failed", "a backup (state or snapshot) failed: nothing was scaled down"),
            Outcome("not_running", "failed", "after the restore, a service did not reach its recorded count in time"),
        ),
        guard_rails=(
            'only configured services; minutes 1..480, "until done" at most maintenance.max_minutes (default 240)',
            "asks a named approver first (approvals in the customer file); scale_down refuses without the proof",
            "booked ahead (at): at least maintenance.min_notice_hours (default 48) and at most max_ahead_days (default "
            "30) ahead, refused before anything is read; the customers' notice goes out when it is approved, a "
            "reminder maintenance.reminder_minutes (default 60) before",
            "backs up first (backup-terraform-state and snapshot-rds-cluster as child workflows): if either does not end "
            "ok, nothing is scaled down",
            "records each service's desired count and autoscaling floor before scaling to 0, and restores exactly those",
            "while the window is open, the services' alarms page at P3 and remediate nothing",
            "the suppression is lifted on every path (a failure restores what was stopped, then lifts it); a window "
            "left open by a crashed execution expires by itself",
            "dry-run and off modes make no change",
        ),
        table_actions=("GetItem", "PutItem", "UpdateItem", "DeleteItem"),  # window#<service> rows
        table_prefixes=("window#",),
        verify_interval_seconds=15,
        verify_max_polls=40,
        # the longest window, plus the backups (the snapshot may take 90 minutes), the restore and its checks
        timeout_minutes=1440 + 120,
        example_input={"services": ["lecture-backend-service"], "minutes": 30, "reason": "database upgrade"},
    )
)
