"""Runbook scale-ecs-service: "Scaling ECS Services" from the operations runbook, with guard rails.

guard   validate the input, read the service, apply bounds, mode and cooldown -> a plan or a refusal
act     raise the Application Auto Scaling floor (if the service has a target), then UpdateService
verify  poll until runningCount equals desiredCount, or report the deployment's state on timeout
"""

from datetime import datetime

from catalog import runbook
from catalog.runbooks import ScaleEcsServiceInput
from lambdas import aws
from lambdas.deps import store as make_store
from lambdas.errors import InvalidInput, ResourceNotFound
from lambdas.logic.mode import read_mode, strictest
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input, runbook_handler
from lambdas.settings import Settings

RUNBOOK = runbook("scale-ecs-service")


def _refuse(plan: dict, outcome: str, message: str) -> dict:
    return {**plan, "proceed": False, "outcome": outcome, "message": message}


def describe_service(ecs, cluster: str, service: str) -> dict:
    found = [s for s in ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
             if s.get("status") != "INACTIVE"]
    if not found:
        raise ResourceNotFound(f"service {service} not found in cluster {cluster}")
    return found[0]


def scalable_target(aas, cluster: str, service: str) -> dict | None:
    targets = aas.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{service}"],
        ScalableDimension="ecs:service:DesiredCount",
    ).get("ScalableTargets", [])
    return {"min": targets[0]["MinCapacity"], "max": targets[0]["MaxCapacity"]} if targets else None


def plan_scale(inp: ScaleEcsServiceInput, *, settings: Settings, ecs, aas, ssm, store: Store, now: datetime,
               execution: str = "") -> dict:
    config = settings.customer
    try:
        bounds = config.service(inp.service)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    cluster = config.ecs.cluster
    # The switch is always read: an input's mode (set by respond) can make the run stricter, never looser.
    switch, mode_note = read_mode(ssm, settings.mode_parameter)
    mode = strictest(switch, inp.mode)
    dry_run = inp.dry_run or mode == "dry-run"
    plan = {
        "runbook": RUNBOOK.name, "customer": config.customer, "cluster": cluster, "service": inp.service,
        "min": bounds.min_tasks, "max": bounds.max_tasks, "mode": mode, "dry_run": dry_run,
        "incident_id": inp.incident_id, "reason": inp.reason, "notes": [n for n in [mode_note] if n],
        "polls": 0, "max_polls": RUNBOOK.verify_max_polls,
    }
    if mode == "off":
        source = f"{settings.mode_parameter} = off" if switch == "off" else "the input's mode is off"
        return _refuse(plan, "refused", f"automation is off for customer {config.customer} "
                                        f"({source}); {inp.service} was not changed")

    current = int(describe_service(ecs, cluster, inp.service)["desiredCount"])
    plan["from"] = current
    if inp.desired is not None:
        target = inp.desired
        if target > bounds.max_tasks:
            return _refuse(plan, "refused", f"desired {target} is above the maximum of {bounds.max_tasks} tasks "
                                            f"for service {inp.service}")
        if target < bounds.min_tasks:
            return _refuse(plan, "refused", f"desired {target} is below the minimum of {bounds.min_tasks} tasks "
                                            f"for service {inp.service}")
    else:
        delta = int(inp.delta or 0)
        if delta > 0 and current >= bounds.max_tasks:
            return _refuse(plan, "refused", f"service {inp.service} is already at its maximum of "
                                            f"{bounds.max_tasks} tasks")
        if delta < 0 and current <= bounds.min_tasks:
            return _refuse(plan, "refused", f"service {inp.service} is already at its minimum of "
                                            f"{bounds.min_tasks} tasks")
        target = min(max(current + delta, bounds.min_tasks), bounds.max_tasks)
        if target != current + delta:
            plan["notes"].append(f"limited to {target} by the bounds {bounds.min_tasks}..{bounds.max_tasks}")
    plan["to"] = target
    if target == current:
        return _refuse(plan, "noop", f"service {inp.service} already has {current} desired tasks; nothing to do")

    scope = f"{RUNBOOK.name}#{inp.service}"
    if dry_run:
        until = store.cooldown_until(scope)
    else:
        until = store.start_cooldown(scope, bounds.cooldown_seconds, holder=execution or inp.incident_id or "manual")
    if until is not None:
        return _refuse(plan, "refused", f"service {inp.service} is in cooldown until {until.isoformat()} "
                                        f"(one action per {bounds.cooldown_seconds} s)")
    plan["scalable_target"] = scalable_target(aas, cluster, inp.service)
    return {**plan, "proceed": True}


def apply_scale(plan: dict, *, ecs, aas) -> dict:
    service, cluster, target = plan["service"], plan["cluster"], plan["to"]
    resource_id = f"service/{cluster}/{service}"
    calls = []
    st = plan.get("scalable_target")
    if st:
        # Scaling out raises the autoscaler's floor to the new count, so it does not scale the change
        # back; scaling in lowers the floor only as far as needed.
        floor = target if target > plan["from"] else min(st["min"], target)
        calls.append(("application-autoscaling", "RegisterScalableTarget", {
            "ServiceNamespace": "ecs", "ResourceId": resource_id, "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": floor, "MaxCapacity": max(st["max"], target)}))
    calls.append(("ecs", "UpdateService", {"cluster": cluster, "service": service, "desiredCount": target}))
    described = "; ".join(f"{op} {params}" for _, op, params in calls)
    if plan["dry_run"]:
        return {**plan, "verify": False, "outcome": "would_scale",
                "message": f"dry-run: would scale {service} from {plan['from']} to {target} tasks ({described})"}
    for svc, op, params in calls:
        if op == "RegisterScalableTarget":
            aas.register_scalable_target(**params)
        else:
            ecs.update_service(**params)
    return {**plan, "verify": True, "previous": {"desired": plan["from"], "scalable_target": st}}


def check_scale(plan: dict, *, ecs) -> dict:
    svc = describe_service(ecs, plan["cluster"], plan["service"])
    running, desired, pending = svc.get("runningCount", 0), svc.get("desiredCount", 0), svc.get("pendingCount", 0)
    polls = int(plan.get("polls", 0)) + 1
    plan = {**plan, "polls": polls, "running": running}
    if running == desired == plan["to"]:
        return {**plan, "settled": True, "outcome": "scaled",
                "message": f"scaled {plan['service']} from {plan['from']} to {plan['to']} tasks; "
                           f"{running} of {desired} running"}
    if polls >= int(plan["max_polls"]):
        primary = next((d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        events = "; ".join(str(e.get("message")) for e in svc.get("events", [])[:3]) or "no service events"
        return {**plan, "settled": True, "outcome": "timed_out",
                "message": f"{plan['service']} did not settle after {polls} checks: {running} of {desired} running, "
                           f"{pending} pending; deployment {primary.get('rolloutState', 'unknown')} "
                           f"(failed tasks: {primary.get('failedTasks', 0)}); recent events: {events}"}
    return {**plan, "settled": False}


# --- Lambda steps: wire the environment to the logic -------------------------------------------
def _guard(event: dict, now: datetime) -> dict:
    settings = Settings.from_env()
    inp = parse_input(RUNBOOK, event.get("input"))
    return plan_scale(inp, settings=settings, ecs=aws.client("ecs"), aas=aws.client("application-autoscaling"),
                      ssm=aws.client("ssm"), store=make_store(settings, now), now=now,
                      execution=str(event.get("execution") or ""))


def _act(event: dict, now: datetime) -> dict:
    return apply_scale(event["plan"], ecs=aws.client("ecs"), aas=aws.client("application-autoscaling"))


def _verify(event: dict, now: datetime) -> dict:
    return check_scale(event["plan"], ecs=aws.client("ecs"))


handler = runbook_handler(RUNBOOK, {"guard": _guard, "act": _act, "verify": _verify})
