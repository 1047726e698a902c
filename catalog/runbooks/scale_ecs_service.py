"""Runbook scale-ecs-service: its input model and its declaration."""

from pydantic import Field, model_validator

from catalog.declaration import Outcome, Runbook, RunbookInput, register
from catalog.runbooks._permissions import ECS_SCALING_PERMISSIONS


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


SCALE_ECS_SERVICE = register(
    Runbook(
        name="scale-ecs-service",
        plan_summary="{service} {from} -> {to} tasks (bounds {min}..{max})",
        poll_summary="{running} of {to} running",
        title="Scale an ECS service within its bounds",
        target_kind="ecs_service",
        input_model=ScaleEcsServiceInput,
        permissions=(*ECS_SCALING_PERMISSIONS,),
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
            "has passed; while a maintenance window holds the service, it goes into the window's record instead, so "
            "the window's end puts back that floor, not the raised one",
            "act re-checks the plan it is given against the configuration: a forged plan changes nothing",
        ),
        on_resolve="restore",
        # cooldowns and the remembered floor; UpdateItem: an open maintenance window's recorded floor (restore)
        table_actions=("GetItem", "PutItem", "DeleteItem", "UpdateItem"),
        table_prefixes=("cooldown#", "floor#", "window#", "open#"),  # its cooldown, the remembered floor, a window, the incident
        example_input={"service": "lecture-backend-service", "delta": 1},
    )
)
