"""Runbook scale-ecs-service: "Scaling ECS Services" from the operations runbook, with guard rails.

guard   validate the input, read the service, apply bounds, mode and cooldown -> a plan or a refusal
act     raise the Application Auto Scaling floor (if the service has a target), then UpdateService
verify  poll until runningCount equals desiredCount, or report the deployment's state on timeout
restore (on resolve) put the autoscaling floor back to what it was before the incident's first raise
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from catalog import CustomerConfig, runbook
from catalog.runbooks.scale_ecs_service import ScaleEcsServiceInput
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.ecs import describe_service, scalable_target
from lambdas.logic.store import Store
from lambdas.models.steps import PlanBase, ScalableTarget, StepModel, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import Call, run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("scale-ecs-service")


class PreviousScale(StepModel):
    desired: int
    scalable_target: ScalableTarget | None = None


class ScalePlan(PlanBase):
    """scale-ecs-service's plan: guard makes it, act and verify add to it; its last form is the outcome."""

    cluster: str
    service: str
    min: int
    max: int
    from_: int | None = Field(default=None, alias="from")  # desired count guard read
    to: int | None = None  # desired count the plan sets
    scalable_target: ScalableTarget | None = None
    previous: PreviousScale | None = None
    running: int | None = None


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


def _refuse(plan: ScalePlan, outcome: str, message: str) -> ScalePlan:
    refused = plan.model_copy(deep=True)
    refused.proceed, refused.outcome, refused.message = False, outcome, message
    return refused


def plan_scale(
    inp: ScaleEcsServiceInput,
    *,
    settings: Settings,
    ecs: Any,
    aas: Any,
    ssm: Any,
    store: Store,
    now: datetime,
    execution: str = "",
) -> ScalePlan:
    config = settings.customer
    try:
        bounds = config.service(inp.service)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    cluster = config.ecs.cluster
    # The switch is always read: an input's mode (set by respond) can make the run stricter, never looser.
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    mode, dry_run, mode_note = run.mode, run.dry_run, run.note
    plan = ScalePlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        cluster=cluster,
        service=inp.service,
        min=bounds.min_tasks,
        max=bounds.max_tasks,
        mode=mode,
        dry_run=dry_run,
        incident_id=inp.incident_id,
        reason=inp.reason,
        notes=[n for n in [mode_note] if n],
        polls=0,
        max_polls=RUNBOOK.verify_max_polls,
        wait_seconds=RUNBOOK.verify_interval_seconds,
    )
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        return _refuse(
            plan, "refused", f"automation is off for customer {config.customer} ({source}); {inp.service} was not changed"
        )

    current = int(describe_service(ecs, cluster, inp.service)["desiredCount"])
    plan.from_ = current
    if inp.desired is not None:
        target = inp.desired
        if target > bounds.max_tasks:
            return _refuse(
                plan, "refused", f"desired {target} is above the maximum of {bounds.max_tasks} tasks for service {inp.service}"
            )
        if target < bounds.min_tasks:
            return _refuse(
                plan, "refused", f"desired {target} is below the minimum of {bounds.min_tasks} tasks for service {inp.service}"
            )
    else:
        delta = int(inp.delta or 0)
        if delta > 0 and current >= bounds.max_tasks:
            return _refuse(plan, "refused", f"service {inp.service} is already at its maximum of {bounds.max_tasks} tasks")
        if delta < 0 and current <= bounds.min_tasks:
            return _refuse(plan, "refused", f"service {inp.service} is already at its minimum of {bounds.min_tasks} tasks")
        target = min(max(current + delta, bounds.min_tasks), bounds.max_tasks)
        if target != current + delta:
            plan.notes.append(f"limited to {target} by the bounds {bounds.min_tasks}..{bounds.max_tasks}")
    plan.to = target
    if target == current:
        return _refuse(plan, "noop", f"service {inp.service} already has {current} desired tasks; nothing to do")

    scope = _scope(inp.service)
    if dry_run:
        until = store.cooldown_until(scope)
    else:
        until = store.start_cooldown(scope, bounds.cooldown_seconds, holder=execution or inp.incident_id or "manual")
    if until is not None:
        return _refuse(
            plan,
            "refused",
            f"service {inp.service} is in cooldown until {until.isoformat()} (one action per {bounds.cooldown_seconds} s)",
        )
    plan.scalable_target = scalable_target(aas, cluster, inp.service)
    plan.proceed = True
    return plan


def _int(plan: dict[str, Any], key: str) -> int:
    value = plan.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPlan(f"plan rejected: {key!r} must be a whole number, got {value!r}; nothing was changed")
    return value


def check_plan(raw: object, config: CustomerConfig) -> ScalePlan:
    """act trusts nothing it is given: a plan must name the configured cluster and a configured service, and
    stay within that service's bounds. A direct invoke with a forged plan changes nothing."""
    if not isinstance(raw, dict):
        raise InvalidPlan("plan rejected: expected the plan guard returned (a JSON object); nothing was changed")
    if raw.get("proceed") is not True:
        raise InvalidPlan("plan rejected: guard did not let it proceed; nothing was changed")
    if raw.get("cluster") != config.ecs.cluster:
        raise InvalidPlan(
            f"plan rejected: cluster {str(raw.get('cluster'))[:100]!r} is not the configured "
            f"{config.ecs.cluster!r}; nothing was changed"
        )
    try:
        bounds = config.service(str(raw.get("service")))
    except KeyError as exc:
        raise InvalidPlan(f"plan rejected: {exc.args[0][:300]}; nothing was changed") from None
    target, current = _int(raw, "to"), _int(raw, "from")
    if not bounds.min_tasks <= target <= bounds.max_tasks:
        raise InvalidPlan(
            f"plan rejected: {target} tasks is outside the bounds {bounds.min_tasks}..{bounds.max_tasks} "
            f"of service {bounds.name}; nothing was changed"
        )
    st = raw.get("scalable_target")
    if st is not None:
        if not isinstance(st, dict):
            raise InvalidPlan("plan rejected: 'scalable_target' must be an object; nothing was changed")
        floor, ceiling = _floor(_int(st, "min"), target, current), _int(st, "max")
        if not bounds.min_tasks <= floor <= bounds.max_tasks or max(ceiling, target) > bounds.max_tasks:
            raise InvalidPlan(
                f"plan rejected: autoscaling MinCapacity {floor} / MaxCapacity {max(ceiling, target)} "
                f"is outside the bounds {bounds.min_tasks}..{bounds.max_tasks} of service "
                f"{bounds.name}; nothing was changed"
            )
    # the rest of the plan must still be a plan: its model is the last guard
    return parse_step(ScalePlan, raw, "plan rejected", InvalidPlan)


def _floor(st_min: int, target: int, current: int) -> int:
    # Scaling out raises the autoscaler's floor to the new count, so it does not scale the change
    # back; scaling in lowers the floor only as far as needed.
    return target if target > current else min(st_min, target)


def apply_scale(plan: ScalePlan, *, ecs: Any, aas: Any, store: Store | None = None) -> ScalePlan:
    service, cluster = plan.service, plan.cluster
    target, current = _planned(plan.to, "to"), _planned(plan.from_, "from")
    resource_id = f"service/{cluster}/{service}"
    calls: list[tuple[str, str, dict[str, Any]]] = []
    st = plan.scalable_target
    if st:
        floor = _floor(st.min, target, current)
        calls.append(
            (
                "application-autoscaling",
                "RegisterScalableTarget",
                {
                    "ServiceNamespace": "ecs",
                    "ResourceId": resource_id,
                    "ScalableDimension": "ecs:service:DesiredCount",
                    "MinCapacity": floor,
                    "MaxCapacity": max(st.max, target),
                },
            )
        )
    calls.append(("ecs", "UpdateService", {"cluster": cluster, "service": service, "desiredCount": target}))
    described = "; ".join(f"{op} {params}" for _, op, params in calls)
    done = plan.model_copy(deep=True)
    if plan.dry_run:
        done.verify, done.outcome = False, "would_scale"
        done.message = f"dry-run: would scale {service} from {current} to {target} tasks ({described})"
        return done
    for _svc, op, params in calls:
        if op == "RegisterScalableTarget" and st is not None:
            if store is not None and params["MinCapacity"] > st.min:
                # remembered before the raise, so the floor can be put back once the incident is over
                store.remember_floor(_scope(service), st.min, str(plan.incident_id or "manual"))
            aas.register_scalable_target(**params)
            done.scalable_target = ScalableTarget(min=params["MinCapacity"], max=params["MaxCapacity"])
        else:
            ecs.update_service(**params)
    # scalable_target is the floor now in force (a timed-out page shows it); previous has the one before
    done.verify = True
    done.previous = PreviousScale(desired=current, scalable_target=st)
    return done


def _planned(value: int | None, key: str) -> int:
    if value is None:  # check_plan refuses such a plan at act's edge; a caller in code gets the same answer
        raise InvalidPlan(f"plan rejected: {key!r} must be a whole number, got None; nothing was changed")
    return value


def _scope(service: str) -> str:
    return f"{RUNBOOK.name}#{service}"


def check_scale(plan: ScalePlan, *, ecs: Any) -> ScalePlan:
    svc = describe_service(ecs, plan.cluster, plan.service)
    running, desired, pending = svc.get("runningCount", 0), svc.get("desiredCount", 0), svc.get("pendingCount", 0)
    checked = plan.model_copy(deep=True)
    checked.polls = polls = plan.polls + 1
    checked.running = running
    checked.settled = True
    if running == desired == plan.to:
        checked.outcome = "scaled"
        checked.message = f"scaled {plan.service} from {plan.from_} to {plan.to} tasks; {running} of {desired} running"
        return checked
    if polls >= plan.max_polls:
        primary: dict[str, Any] = next((d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        events = "; ".join(str(e.get("message"))[:300] for e in svc.get("events", [])[:3]) or "no service events"
        st = plan.scalable_target
        floor = f"; autoscaling floor {st.min} (max {st.max})" if st else ""
        checked.outcome = "timed_out"
        checked.message = (
            f"{plan.service} did not settle after {polls} checks: {running} of {desired} running, "
            f"{pending} pending; deployment {primary.get('rolloutState', 'unknown')} "
            f"(failed tasks: {primary.get('failedTasks', 0)}){floor}; recent events: {events}"
        )
        return checked
    checked.settled = False
    return checked


def plan_restore(inp: object, *, settings: Settings, aas: Any, store: Store, now: datetime) -> RestorePlan:
    """When and to what the floor goes back: once the cooldown has passed (respond waits until ``at``)."""
    service = _restore_service(inp, settings)
    remembered = store.floor(_scope(service))
    cluster = settings.customer.ecs.cluster
    st = scalable_target(aas, cluster, service)
    if not remembered or not st:
        return RestorePlan(
            due=False, service=service, message=f"the autoscaling floor of {service} was not raised; nothing to put back"
        )
    until = store.cooldown_until(_scope(service)) or now
    at = until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    floor = int(remembered["floor"])
    window = store.open_window(service)
    if window:
        return RestorePlan(
            due=True,
            service=service,
            at=at,
            floor=floor,
            current=st.min,
            message=f"the maintenance window open on {service} holds its autoscaling floor "
            f"(MinCapacity) at {st.min}; at {at}, once the cooldown has passed, the floor the "
            f"window puts back when it ends becomes {floor}",
        )
    return RestorePlan(
        due=True,
        service=service,
        at=at,
        floor=floor,
        current=st.min,
        message=f"the autoscaling floor (MinCapacity) of {service} is {st.min}; it goes back to "
        f"{floor} at {at}, once the cooldown has passed, and the autoscaler then scales in "
        f"by its own policy",
    )


def restore_floor(inp: object, *, settings: Settings, aas: Any, ssm: Any, store: Store) -> RestoreResult:
    """Put MinCapacity back to the remembered floor, within the service's bounds; not while the alarm is in
    ALARM again (a new incident keeps the raised floor) nor in dry-run/off."""
    service = _restore_service(inp, settings)
    bounds = settings.customer.service(service)
    cluster = settings.customer.ecs.cluster
    remembered, st = store.floor(_scope(service)), scalable_target(aas, cluster, service)
    if not remembered or not st:
        return RestoreResult(restored=False, service=service, message=f"no raised floor of {service} to put back")
    alarm = str(inp.get("alarm") or "") if isinstance(inp, dict) else ""
    if alarm and store.open_incident_of(alarm):
        return RestoreResult(
            restored=False,
            service=service,
            message=f"alarm {alarm} is in ALARM again; the autoscaling floor of {service} stays at {st.min}",
        )
    floor = min(max(int(remembered["floor"]), bounds.min_tasks), bounds.max_tasks, st.max)
    mode = run_mode(ssm, settings.mode_parameter).mode
    if mode != "enforce":
        return RestoreResult(
            restored=False,
            service=service,
            message=f"{mode}: would put the autoscaling floor of {service} back from {st.min} to {floor}",
        )
    window = store.open_window(service)
    recorded = window.get("floor") if window else None
    if window and recorded is not None:
        # the window holds the service stopped (its floor at st.min) and puts back what it recorded, which this
        # incident raised: its record gets the floor instead, and the window's end puts that back
        if int(recorded) > floor:
            store.mark_window(service, str(window["execution"]), floor=floor)
        store.forget_floor(_scope(service), int(remembered["floor"]))
        return RestoreResult(
            restored=True,
            service=service,
            floor=floor,
            message=f"the maintenance window open on {service} (execution {window['execution']}) "
            f"holds its autoscaling floor (MinCapacity) at {st.min}; when the window ends, "
            f"the floor goes back to {floor}"
            + (f", not the {int(recorded)} it recorded (raised by this incident)" if int(recorded) > floor else ""),
        )
    if floor < st.min:
        aas.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=f"service/{cluster}/{service}",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=floor,
            MaxCapacity=st.max,
        )
    store.forget_floor(_scope(service), int(remembered["floor"]))
    return RestoreResult(
        restored=True,
        service=service,
        floor=floor,
        message=f"autoscaling floor (MinCapacity) of {service} put back from {st.min} to {floor}",
    )


def _restore_service(inp: object, settings: Settings) -> str:
    service = inp.get("service") if isinstance(inp, dict) else None
    try:
        return settings.customer.service(str(service)[:255]).name
    except KeyError as exc:
        raise InvalidInput(f"restore: {exc.args[0]}") from None


def _restore(call: Call) -> StepModel:
    """on resolve: ``phase`` "plan" says when the floor goes back; then it is put back."""
    settings, aas, inp = call.settings, call.client("aas"), call.event.get("input")
    if call.event.get("phase") == "plan":
        return plan_restore(inp, settings=settings, aas=aas, store=call.store, now=call.now)
    return restore_floor(inp, settings=settings, aas=aas, ssm=call.client("ssm"), store=call.store)


handler = kit.handler(
    RUNBOOK,
    ScalePlan,
    guard=kit.guard(plan_scale),
    act=kit.act(apply_scale, check=check_plan),
    verify=kit.verify(check_scale),
    **{RUNBOOK.on_resolve or "restore": kit.step(_restore, changes=True)},
)
