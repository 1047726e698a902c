"""Runbook maintenance-window: the operations runbook's maintenance window, with its backups first.

guard         validate the input (a booking's ``at`` first, before anything is read), read the services and the
              mode -> a plan with its approval_summary (or a refusal / dry-run report)
notify        the start or the end, and for a window booked ahead the customers' notice ("booked", once approved)
              and the "reminder": a status update and a PagerDuty change event
scale_down    proves the approval (as every approval runbook's act does), then records each service's desired count
              and autoscaling floor in its window#<service> row (which also holds back its alarms, see
              lambdas/logic/admit.py), then scales it and its floor to 0
restore       put every service back to its RECORDED count and floor (read from the table, never assumed)
verify        poll until each service runs its recorded count
backup_failed a child backup did not end ok: nothing was scaled down
lift          delete this execution's window rows; on a failure path, first restore what was stopped
The child backups and the waits are states of stacks/maintenance_workflow.py.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from catalog import CustomerConfig, naming, runbook
from catalog.runbooks.maintenance_window import MaintenanceWindowInput
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.ecs import describe_service, scalable_target
from lambdas.logic.paging import Pager
from lambdas.logic.store import Store
from lambdas.models.steps import PlanBase, StepModel, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("maintenance-window")


class RecordedService(StepModel):
    """A service as the maintenance window found it: what it goes back to."""

    desired: int
    floor: int | None = None  # the Application Auto Scaling MinCapacity; None: no scalable target
    max: int | None = None  # its MaxCapacity (kept as it is)


class MaintenancePlan(PlanBase):
    """maintenance-window's plan: guard makes it, each step adds to it; its last form is the outcome."""

    cluster: str
    services: list[str]
    minutes: int  # how long the window stays open (for "until done": the maximum)
    until_done: bool
    execution: str
    incident_id: str  # always one: the window's alarms page at P3 under it
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
    approval_summary: str | None = None  # what a named approver is asked to approve (set when it proceeds)
    # booked ahead (the input's ``at``): when it opens and when the reminder goes out, as Step Functions reads a
    # TimestampPath (UTC, "Z"); unset when it runs at once
    starts_at: str | None = None
    remind_at: str | None = None
    running: dict[str, int] = Field(default_factory=dict)


# how long after its planned end a window row still holds alarms back: the restore and its checks
MARGIN = timedelta(minutes=30)
_DIMENSION = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


def _read(ecs: Any, aas: Any, cluster: str, service: str) -> RecordedService:
    desired = int(describe_service(ecs, cluster, service)["desiredCount"])
    st = scalable_target(aas, cluster, service)
    return RecordedService(desired=desired, floor=st.min if st else None, max=st.max if st else None)


def _describe(recorded: dict[str, RecordedService]) -> str:
    return "; ".join(
        f"{name}: {r.desired} tasks" + (f", autoscaling floor {r.floor}" if r.floor is not None else "")
        for name, r in recorded.items()
    )


def _stamp(at: datetime) -> str:
    """A time as Step Functions' Wait reads a TimestampPath: UTC, whole seconds, "Z"."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def booking(at: datetime, now: datetime, config: CustomerConfig) -> tuple[datetime, datetime]:
    """A window booked for ``at``: (when it opens, when the reminder goes out); InvalidInput when ``at`` gives the
    customers less notice than maintenance.min_notice_hours, or is more than max_ahead_days ahead."""
    rules, at = config.maintenance, at.astimezone(UTC).replace(microsecond=0)
    ahead = at - now
    if ahead < timedelta(hours=rules.min_notice_hours):
        raise InvalidInput(
            f"invalid maintenance-window input: at: {_stamp(at)} is {_hours(ahead)} from now; customers are told at "
            f"least {rules.min_notice_hours} hours ahead (maintenance.min_notice_hours of customers/{config.customer}"
            f".yaml): book it for {_stamp(now + timedelta(hours=rules.min_notice_hours))} or later; nothing was changed"
        )
    if ahead > timedelta(days=rules.max_ahead_days):
        raise InvalidInput(
            f"invalid maintenance-window input: at: {_stamp(at)} is more than {rules.max_ahead_days} days ahead "
            f"(maintenance.max_ahead_days of customers/{config.customer}.yaml); nothing was changed"
        )
    return at, max(now, at - timedelta(minutes=rules.reminder_minutes))


def _hours(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    text = f"{minutes // 60} h {minutes % 60} min"
    return text if delta >= timedelta(0) else f"{text} in the past"


def plan_window(
    inp: MaintenanceWindowInput,
    *,
    settings: Settings,
    ecs: Any,
    aas: Any,
    ssm: Any,
    store: Store,
    execution: str,
    now: datetime,
) -> MaintenancePlan:
    config = settings.customer
    execution = execution or "manual"  # a window opened outside Step Functions (a test, a direct invoke)
    for service in inp.services:
        try:
            config.service(service)
        except KeyError as exc:
            raise InvalidInput(f"invalid maintenance-window input: services: {exc.args[0]}") from None
    booked = booking(inp.at, now, config) if inp.at is not None else None  # before anything is read
    run = run_mode(ssm, settings.mode_parameter, inp.mode)
    mode, mode_note = run.mode, run.note
    minutes = inp.minutes if inp.minutes is not None else config.maintenance.max_minutes
    incident = inp.incident_id or naming.execution_name(f"{config.customer}-maintenance-{execution}")[:200]
    reason = f"maintenance window {execution}" + (f": {inp.reason}" if inp.reason else "")
    plan = MaintenancePlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        cluster=config.ecs.cluster,
        services=list(inp.services),
        minutes=minutes,
        until_done=inp.until == "done",
        wait_seconds=minutes * 60,
        mode=mode,
        dry_run=inp.dry_run or mode == "dry-run",
        execution=execution,
        incident_id=incident,
        reason=inp.reason,
        notes=[n for n in [mode_note] if n],
        max_polls=RUNBOOK.verify_max_polls,
        backup_input={"state_key": config.terraform.state_key, "reason": reason[:500], "incident_id": incident, "mode": mode},
        snapshot_input={"cluster": config.rds.cluster, "reason": reason[:500], "incident_id": incident, "mode": mode},
        backup_execution=naming.execution_name(f"{execution}-state-backup"),
        snapshot_execution=naming.execution_name(f"{execution}-snapshot"),
    )
    how_long = f"until an operator says done (at most {minutes} min)" if plan.until_done else f"for {minutes} min"
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        plan.proceed, plan.outcome = False, "refused"
        plan.message = f"automation is off for customer {config.customer} ({source}); no window was opened"
        return plan
    held = {s: store.open_window(s) for s in inp.services}
    busy = {s: str(item["execution"]) for s, item in held.items() if item and item.get("execution") != execution}
    if busy:
        plan.proceed, plan.outcome = False, "refused"
        plan.message = (
            "a maintenance window is already open: "
            + ", ".join(f"{s} (execution {e})" for s, e in busy.items())
            + "; nothing was changed"
        )
        return plan
    plan.found = {s: _read(ecs, aas, config.ecs.cluster, s) for s in inp.services}
    if plan.dry_run:
        plan.proceed, plan.outcome = False, "would_run"
        plan.message = (
            f"dry-run: would back up the Terraform state and snapshot {config.rds.cluster}, then stop "
            f"{', '.join(inp.services)} {how_long} and restore them to {_describe(plan.found)}"
        )
        return plan
    plan.proceed = True
    plan.message = f"maintenance window on {', '.join(inp.services)} {how_long}"
    when = "as soon as it is approved"
    if booked is not None:
        plan.starts_at, plan.remind_at = _stamp(booked[0]), _stamp(booked[1])
        when = f"at {plan.starts_at} (booked; the customers are told once it is approved)"
        plan.message += f", booked for {plan.starts_at}"
    plan.approval_summary = (
        f"maintenance window {when}: back up the Terraform state and snapshot {config.rds.cluster}, then stop "
        f"{', '.join(inp.services)} {how_long} (production is down meanwhile) and restore them to their recorded "
        f"counts (now {_describe(plan.found)}). Reason: {inp.reason or 'none given'}"
    )[:1000]
    if plan.until_done:
        plan.done_summary = (
            f"maintenance window on {', '.join(inp.services)} is open until done (at most {minutes} "
            f"min): approve to end it; the services then go back to {_describe(plan.found)}"
        )[:1000]
    return plan


def check_plan(raw: object, config: CustomerConfig) -> MaintenancePlan:
    """A plan must name the configured cluster and configured services, and have been let through by guard."""
    plan = parse_step(MaintenancePlan, raw, "plan rejected", InvalidPlan)
    if plan.proceed is not True:
        raise InvalidPlan("plan rejected: guard did not let it proceed; nothing was changed")
    if plan.dry_run or plan.mode != "enforce":  # guard lets no dry-run plan proceed: a forged one
        raise InvalidPlan(f"plan rejected: mode {plan.mode} (dry-run {plan.dry_run}) changes nothing; nothing was changed")
    if plan.cluster != config.ecs.cluster:
        raise InvalidPlan(
            f"plan rejected: cluster {plan.cluster[:100]!r} is not the configured {config.ecs.cluster!r}; nothing was changed"
        )
    for service in plan.services:
        try:
            config.service(service)
        except KeyError as exc:
            raise InvalidPlan(f"plan rejected: {exc.args[0][:300]}; nothing was changed") from None
    if not 1 <= plan.minutes <= max(480, config.maintenance.max_minutes):
        raise InvalidPlan(f"plan rejected: {plan.minutes} minutes is out of bounds; nothing was changed")
    return plan


def scale_down(plan: MaintenancePlan, *, ecs: Any, aas: Any, store: Store) -> MaintenancePlan:
    """Open every service's window first (its alarms are held back before the scale-down trips them), recording
    its counts, then scale each to 0 with its autoscaling floor."""
    done = plan.model_copy(deep=True)
    expires = store.now + timedelta(minutes=plan.minutes) + MARGIN
    done.opened, done.expires = store.now.isoformat(), expires.isoformat()
    done.recorded = {}  # assigned, not only mutated: to_json keeps the fields a step set
    for service in plan.services:
        current = _read(ecs, aas, plan.cluster, service)
        held = store.open_window_for(service, plan.execution, expires, current.to_json())
        if held is not None:
            raise InvalidPlan(f"a maintenance window on {service} is already open (execution {held}); {service} was not changed")
        done.recorded[service] = current
    for service, rec in done.recorded.items():
        if rec.floor is not None:
            aas.register_scalable_target(
                **_DIMENSION, ResourceId=f"service/{plan.cluster}/{service}", MinCapacity=0, MaxCapacity=rec.max
            )
        ecs.update_service(cluster=plan.cluster, service=service, desiredCount=0)
        store.mark_window(service, plan.execution, scaled_down=True)
    done.message = f"recorded and stopped: {_describe(done.recorded)}"
    return done


def _restore_one(cluster: str, service: str, item: dict[str, Any], *, ecs: Any, aas: Any) -> RecordedService:
    rec = RecordedService(
        desired=int(item["desired"]),
        floor=None if item.get("floor") is None else int(item["floor"]),
        max=None if item.get("max") is None else int(item["max"]),
    )
    if rec.floor is not None:
        st = scalable_target(aas, cluster, service)
        aas.register_scalable_target(
            **_DIMENSION,
            ResourceId=f"service/{cluster}/{service}",
            MinCapacity=rec.floor,
            MaxCapacity=max(st.max if st else 0, rec.max or 0, rec.floor),
        )
    ecs.update_service(cluster=cluster, service=service, desiredCount=rec.desired)
    return rec


def restore(plan: MaintenancePlan, *, ecs: Any, aas: Any, store: Store) -> MaintenancePlan:
    """Each service back to the count and floor recorded in its window row (this execution's, read again)."""
    done = plan.model_copy(deep=True)
    done.recorded = dict(plan.recorded)
    for service in plan.services:
        item = store.open_window_of(service, plan.execution)
        if item is None:
            raise InvalidPlan(
                f"no maintenance window of execution {plan.execution} on {service}: its recorded count "
                f"is unknown, so {service} was not changed"
            )
        done.recorded[service] = _restore_one(plan.cluster, service, item, ecs=ecs, aas=aas)
        store.mark_window(service, plan.execution, scaled_down=False)
    done.polls, done.verify, done.settled = 0, True, False
    done.wait_seconds = RUNBOOK.verify_interval_seconds
    done.message = f"restoring: {_describe(done.recorded)}"
    return done


def check_running(plan: MaintenancePlan, *, ecs: Any) -> MaintenancePlan:
    checked = plan.model_copy(deep=True)
    checked.polls = plan.polls + 1
    checked.running = {}
    missing = []
    for service, rec in plan.recorded.items():
        svc = describe_service(ecs, plan.cluster, service)
        checked.running[service] = int(svc.get("runningCount", 0))
        if not int(svc.get("runningCount", 0)) == int(svc.get("desiredCount", -1)) == rec.desired:
            missing.append(
                f"{service}: {svc.get('runningCount', 0)} of {rec.desired} running (desired {svc.get('desiredCount')})"
            )
    if not missing:
        checked.settled, checked.outcome = True, "completed"
        how = f"an operator's done (at most {plan.minutes} min)" if plan.until_done else f"{plan.minutes} min"
        checked.message = f"maintenance window closed after {how}; restored {_describe(plan.recorded)}; all running"
    elif checked.polls >= plan.max_polls:
        checked.settled, checked.outcome = True, "not_running"
        checked.message = f"after the restore, not every service runs its recorded count: {'; '.join(missing)}"
    else:
        checked.settled = False
    return checked


def backup_failed(plan: MaintenancePlan, backups: dict[str, Any]) -> MaintenancePlan:
    """A child backup failed or did not end ok: the window stops here, before anything was scaled down."""
    done = plan.model_copy(deep=True)
    done.backups = {}
    said = []
    for name, result in backups.items():
        if not isinstance(result, dict):
            continue
        output = result.get("Output")
        if isinstance(output, dict):
            done.backups[name] = str(output.get("outcome"))
            said.append(f"{name}: {output.get('outcome')} ({str(output.get('message') or '')[:300]})")
        elif result.get("Error"):
            done.backups[name] = "failed"
            said.append(f"{name}: {str(result.get('Error'))[:100]}: {str(result.get('Cause') or '')[:300]}")
    done.outcome = "backup_failed"
    done.message = (
        f"backups before the window did not succeed, so nothing was scaled down: {'; '.join(said) or 'no backup result'}"
    )
    return done


def lift(
    raw_input: object, execution: str, *, config: CustomerConfig, ecs: Any, aas: Any, store: Store, restore_first: bool
) -> dict[str, Any]:
    """Delete this execution's window rows. On a failure path (restore_first), a service still stopped is first
    put back to its recorded count. Reads the raw input leniently: it runs after any failure, guard's included."""
    given = raw_input.get("services") if isinstance(raw_input, dict) else None
    configured = [s.name for s in config.ecs.services]
    services = [s for s in configured if isinstance(given, list) and s in given]
    lifted, restored, errors = [], [], []
    for service in services:
        item = store.open_window_of(service, execution)
        if item is None:
            continue
        if restore_first and item.get("scaled_down") is True:
            try:
                _restore_one(config.ecs.cluster, service, item, ecs=ecs, aas=aas)
                restored.append(service)
            except Exception as exc:  # noqa: BLE001 - reported, and the window is lifted anyway
                errors.append(f"{service}: {type(exc).__name__}: {str(exc)[:300]}")
        if store.lift_window(service, execution):
            lifted.append(service)
    return {"lifted": lifted, "restored": restored, "errors": errors}


# --- the steps of its own shape: they read the event's phase, the children's outcomes, the input -----------
def _notify(call: kit.Call) -> dict[str, Any]:
    plan = parse_step(MaintenancePlan, call.event.get("plan"), "notify: the plan")
    pager = Pager.from_settings(call.settings, call.now, execution=plan.execution)
    services, phase = plan.services, call.event.get("phase")
    how = f"until done (at most {plan.minutes} min)" if plan.until_done else f"for {plan.minutes} min"
    eta, next_update = None, 30
    if phase in ("booked", "reminder") and plan.starts_at:
        opens = datetime.fromisoformat(plan.starts_at.replace("Z", "+00:00"))
        ends = opens + timedelta(minutes=plan.minutes)
        if phase == "booked":
            summary = (
                f"maintenance window booked: {', '.join(services)} will be stopped at {plan.starts_at} {how} "
                f"(planned maintenance; reason: {plan.reason or 'none given'}); a reminder follows before it opens"
            )
            remind = datetime.fromisoformat(str(plan.remind_at).replace("Z", "+00:00"))
            next_update = max(1, int((remind - call.now).total_seconds() // 60))
        else:
            summary = f"reminder: the maintenance window on {', '.join(services)} opens at {plan.starts_at} {how}"
            next_update = max(1, int((opens - call.now).total_seconds() // 60))
        eta = f"the services are back by {_stamp(ends)} (the end of the window)" if not plan.until_done else None
        return call_pager(pager, plan, phase, "Identified", summary, eta, next_update)
    if phase == "start":
        summary = (
            f"maintenance window opens on {', '.join(services)} {how}: backups first, then the services "
            f"are stopped; their alarms page at P3 only"
        )
        status = "Identified"
    else:
        summary = f"maintenance window ended ({plan.outcome}): {plan.message or ''}"
        status = "Resolved" if plan.outcome == "completed" else "Identified"
    return call_pager(pager, plan, phase, status, summary, eta, next_update)


def call_pager(
    pager: Pager, plan: MaintenancePlan, phase: object, status: str, summary: str, eta: str | None, next_update: int
) -> dict[str, Any]:
    return pager.maintenance(
        incident_id=plan.incident_id,
        workflow=RUNBOOK.name,
        services=plan.services,
        status=status,
        summary=summary[:1000],
        details={
            "phase": phase,
            "services": plan.services,
            "minutes": plan.minutes,
            "outcome": plan.outcome,
            "reason": plan.reason,
            **({"starts_at": plan.starts_at} if plan.starts_at else {}),
        },
        eta=eta,
        next_update_minutes=next_update,
    )


def _backup_failed(call: kit.Call) -> MaintenancePlan:
    plan = parse_step(MaintenancePlan, call.event.get("plan"), "backup_failed: the plan")
    backups = call.event.get("backups")
    return backup_failed(plan, backups if isinstance(backups, dict) else {})


def _lift(call: kit.Call) -> dict[str, Any]:
    return lift(
        call.event.get("input"),
        call.execution,
        config=call.config,
        ecs=call.client("ecs"),
        aas=call.client("aas"),
        store=call.store,
        restore_first=call.event.get("restore") is True,
    )


# scale_down reads the mode switch again (a switch turned off during the backups stops nothing but the scale-down:
# the workflow goes on to its end and lifts the windows); restore puts back whatever the switch says.
handler = kit.handler(
    RUNBOOK,
    MaintenancePlan,
    guard=kit.guard(plan_window),
    notify=kit.step(_notify),
    scale_down=kit.act(scale_down, check=check_plan),
    # restore puts back what the approved scale_down recorded (its table rows): it needs no approval of its own
    restore=kit.act(restore, check=check_plan, recheck_mode=False, approved_by_earlier_step=True),
    verify=kit.verify(check_running, what="verify: the plan restore returned"),
    backup_failed=kit.step(_backup_failed),
    lift=kit.step(_lift, changes=True),
)
