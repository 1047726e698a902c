"""admit's part for service events (catalog/service_events.py): an ECS task stopped, a service that cannot start
its tasks, an Aurora failover or stop, and their recoveries.

An event that opens opens the incident of its "down" alarm kind on the resource: the same table row
(open#<alarm>), the same incident id format and PagerDuty dedup_key as the alarm, so the alarm that fires a minute
later joins it (decision "join", no second page) and the alarm's OK resolves it. One conditional write claims
the event and opens or keeps the incident, as for an alarm state change: a redelivery is a duplicate, an event
older than the alarm's last state change is stale. An event that closes resolves an incident that an event
opened and the alarm never took over (the alarm is not in ALARM); the alarm's own incidents are its OK's.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from catalog import CustomerConfig, naming
from catalog.kinds import KINDS, WatchedAlarm, watched_alarms
from catalog.service_events import DETAIL_TYPES, SERVICE_EVENTS, ServiceEventKind
from catalog.validation import describe
from lambdas.errors import IncidentConflict, InvalidEvent
from lambdas.logic.mode import read_mode
from lambdas.logic.store import CHANGED, DUPLICATE, STALE, Item, Store
from lambdas.models.events import SERVICE_EVENT_MODELS, EventBridgeEvent
from lambdas.models.steps import Decision

_ATTEMPTS = 3
_DUPLICATE = "duplicate delivery of this event; incident {} already handles it"
_SOURCES = frozenset(k.source for k in SERVICE_EVENTS.values())


def is_service_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("detail-type") in DETAIL_TYPES and event.get("source") in _SOURCES


def parse(event: dict[str, Any], config: CustomerConfig) -> tuple[EventBridgeEvent, ServiceEventKind, WatchedAlarm]:
    detail_type = str(event.get("detail-type"))
    try:
        parsed = SERVICE_EVENT_MODELS[detail_type].model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc, f"malformed {detail_type} event")) from None
    for what, got, want in (("region", parsed.region, config.region), ("account", parsed.account, config.account)):
        if got != want:
            raise InvalidEvent(
                f"{detail_type} event from {what} {got}, but this automation serves customer {config.customer} in {what} {want}"
            )
    kind = next((k for k in SERVICE_EVENTS.values() if k.detail_type == detail_type and k.matches(event, config)), None)
    if kind is None:
        raise InvalidEvent(
            f"{detail_type} event is not one this automation watches for customer {config.customer} (another "
            f"cluster or service, a planned stop, or an event name it does not act on); it watches: "
            + "; ".join(f"{k.name} ({k.detail_type})" for k in SERVICE_EVENTS.values())
        )
    target = kind.target_of(event) or ""
    alarm = naming.alarm_name(config.customer, target, kind.condition)
    watched = watched_alarms(config).get(alarm)
    if watched is None:  # the rule pins the customer's resources, so only a hand-made event gets here
        raise InvalidEvent(f"{kind.title}: {target!r} is not a {KINDS[kind.resource_kind].title} of customer {config.customer}")
    return parsed, kind, watched


def _when(parsed: EventBridgeEvent) -> datetime:
    """When it happened: the event's own time of the change (stoppedAt, createdAt, Date), else the envelope's."""
    detail = parsed.detail
    at = next(
        (t for t in (getattr(detail, f, None) for f in ("stoppedAt", "updatedAt", "createdAt", "Date")) if t is not None),
        parsed.time,
    )
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _ecs_still_down(clients: Callable[[str], Any], config: CustomerConfig, w: WatchedAlarm) -> str | None:
    """None when the service is down now (fewer running tasks than the alarm's threshold), else why it is not."""
    found = clients("ecs").describe_services(cluster=config.ecs.cluster, services=[w.target]).get("services", [])
    if not found:
        raise InvalidEvent(f"service {w.target} not found in cluster {config.ecs.cluster}: the event cannot be confirmed")
    running, desired = int(found[0].get("runningCount", 0)), int(found[0].get("desiredCount", 0))
    threshold = w.alarm.threshold_for(config, w.target)
    if running < threshold:
        return None
    return (
        f"not down: {running} of {desired} tasks of {w.target} still run (the {w.alarm.condition} alarm's threshold "
        f"is {threshold:g}); ECS replaces the stopped task, and the alarm watches the service"
    )


# How the resource's own state confirms that it is down now (an event can be late or forged); kinds not listed
# are taken at their event's word (an RDS cluster event is RDS's own record).
_DOWN_NOW: dict[str, Callable[[Callable[[str], Any], CustomerConfig, WatchedAlarm], str | None]] = {
    "ecs_service": _ecs_still_down,
}


def _base(
    event: dict[str, Any], parsed: EventBridgeEvent, kind: ServiceEventKind, w: WatchedAlarm, config: CustomerConfig, at: datetime
) -> dict[str, Any]:
    what = kind.what_of(event)[:500]
    sentence = (
        f"{kind.title}: {what} ({w.kind.title} {w.target}, account {parsed.account}, region {parsed.region}, at {at.isoformat()})"
    )
    return {
        "customer": config.customer,
        "alarm": w.name,  # the incident is the alarm's: its row, its dedup_key, its OK
        "kind": w.kind.name,
        "target": w.target,
        w.kind.target_field: w.target,
        "condition": w.alarm.condition,
        "reason": sentence,
        "state_timestamp": at.isoformat(),
        "severity": config.severity_of(w.kind.name, w.alarm.condition, w.alarm.severity).value,
        "impact": w.alarm.impact,
        "dedup_key": naming.dedup_key(config.customer, w.name),
        "description": w.alarm.description,
        "runbook": "",
        "service_event": {
            "kind": kind.name,
            "title": kind.title,
            "effect": kind.effect,
            "event_id": parsed.id,
            "detail_type": parsed.detail_type,
            "what": what,
            "at": at.isoformat(),
        },
    }


def admit_service_event(
    event: dict[str, Any],
    *,
    config: CustomerConfig,
    store: Store,
    ssm: Any,
    mode_parameter: str,
    cloudwatch: Any,
    clients: Callable[[str], Any],
) -> Decision:
    parsed, kind, w = parse(event, config)
    at = _when(parsed)
    base = _base(event, parsed, kind, w, config, at)
    key = f"{w.name}#event#{parsed.id}"
    if kind.effect == "close":
        return _close(kind, w, base, key, at, store=store, cloudwatch=cloudwatch)
    window = store.open_window(w.target) if w.kind.maintenance_window else None
    if window:
        return Decision(
            **base,
            decision="ignore",
            note=f"{base['reason']}; planned: maintenance window open on {w.target} (execution {window['execution']}, "
            f"until {window['expires']}); no incident",
        )
    confirm = _DOWN_NOW.get(w.kind.name)
    not_down = confirm(clients, config, w) if confirm else None
    if not_down:
        return Decision(**base, decision="ignore", note=f"{base['reason']}; {not_down}")
    from lambdas.logic.admit import incident_id  # admit imports this module

    change = incident_id(config.customer, w.target, w.alarm, at)
    opened: Item | None = None
    for _ in range(_ATTEMPTS):
        opened = store.open_incident_of(w.name)
        inc = str(opened["incident_id"]) if opened else change
        result, holder = store.transition(
            key,
            inc,
            alarm=w.name,
            state="ALARM",
            at_ms=round(at.timestamp() * 1000),
            expected=inc if opened else None,
            then="keep" if opened else "open",
            opened_at=at.isoformat(),
            severity=base["severity"],
            opened_by=kind.name,
        )
        if result != CHANGED:
            break
    else:
        raise IncidentConflict(f"alarm {w.name}: its open incident kept changing under concurrent deliveries")
    if result == DUPLICATE:
        return Decision(
            **base,
            incident_id=holder,
            decision="duplicate",
            note=_DUPLICATE.format(holder),
        )
    if result == STALE:
        last = store.last_state(w.name)
        return Decision(
            **base,
            incident_id=change,
            decision="ignore",
            note=f"stale: {base['reason']} is older than the last state change handled for {w.name} "
            f"({last.get('state', 'unknown')} at epoch ms {last.get('at_ms')}); ignored",
        )
    mode, mode_note = read_mode(ssm, mode_parameter)
    decided = {**base, "incident_id": inc, "mode": mode, "mode_note": mode_note}
    if opened:
        by = f" by {opened['opened_by']}" if opened.get("opened_by") else f" by the alarm {w.name}"
        return Decision(
            **decided,
            decision="join",
            opened_at=str(opened.get("opened_at") or ""),
            note=f"{base['reason']}; joins incident {inc} (opened {opened.get('opened_at')}{by}): already paged, not paged again",
        )
    closers = [
        k.title
        for k in SERVICE_EVENTS.values()
        if (k.resource_kind, k.condition, k.effect) == (kind.resource_kind, kind.condition, "close")
    ]
    return Decision(
        **decided,
        decision="page",
        note=f"{base['reason']}; page only, no automatic action: {w.alarm.no_runbook_reason}; the alarm {w.name} joins "
        f"this incident when it fires, and its OK" + (f" (or: {', '.join(closers)})" if closers else "") + " resolves it",
    )


def _close(
    kind: ServiceEventKind, w: WatchedAlarm, base: dict[str, Any], key: str, at: datetime, *, store: Store, cloudwatch: Any
) -> Decision:
    for _ in range(_ATTEMPTS):
        opened = store.open_incident_of(w.name)
        if not opened:
            return Decision(**base, decision="ignore", note=f"{base['reason']}; no incident is open on {w.target}")
        inc = str(opened["incident_id"])
        if not opened.get("opened_by"):
            return Decision(
                **base,
                incident_id=inc,
                decision="ignore",
                note=f"{base['reason']}; incident {inc} is the alarm {w.name}'s: its OK resolves it",
            )
        found = cloudwatch.describe_alarms(AlarmNames=[w.name]).get("MetricAlarms", [])
        state = str(found[0].get("StateValue")) if found else "unknown"
        if state == "ALARM":
            return Decision(
                **base,
                incident_id=inc,
                decision="ignore",
                note=f"{base['reason']}; the alarm {w.name} is in ALARM: it joined incident {inc}, and its OK resolves it",
            )
        result, holder = store.transition(
            key, inc, alarm=w.name, state="OK", at_ms=round(at.timestamp() * 1000), expected=inc, then="close"
        )
        if result == CHANGED:
            continue
        if result == DUPLICATE:
            return Decision(
                **base,
                incident_id=holder,
                decision="duplicate",
                note=_DUPLICATE.format(holder),
            )
        if result == STALE:
            return Decision(
                **base,
                incident_id=inc,
                decision="ignore",
                note=f"stale: {base['reason']} is older than the last state change handled for {w.name}; ignored",
            )
        paged = str(opened.get("severity") or base["severity"])
        return Decision(
            **{**base, "severity": paged},
            incident_id=inc,
            decision="resolve",
            opened_at=str(opened.get("opened_at") or ""),
            note=f"{base['reason']}; incident {inc} (opened by {opened['opened_by']}) resolved: the alarm {w.name} is {state}",
        )
    raise IncidentConflict(f"alarm {w.name}: its open incident kept changing under concurrent deliveries")
