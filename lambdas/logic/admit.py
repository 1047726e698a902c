"""admit: validate and classify an alarm event, a scheduled run or a security event, claim it, read the mode switch.

Decisions: remediate (page, then run a runbook; a runbook that runs before the page first), run (a runbook on
its schedule: no page before it), page (page only), resolve (the alarm cleared), duplicate (another execution
holds this state change or firing), join (the alarm fires on an incident a service event opened and paged
already: recorded, not paged again), ignore (nothing to do, an alarm event the alarm's own state does not
confirm (DescribeAlarms: forged, or superseded), a stale state change older than the last one handled for the
alarm, or a scheduled run while the automation is off, or a security event of a burst already paged; recorded).
Security events (CloudTrail, catalog/security.py) are in lambdas/logic/security.py, service events (ECS, RDS,
catalog/service_events.py) in lambdas/logic/service_events.py.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from catalog import AlarmKind, CustomerConfig, Severity, naming, runbook
from catalog.kinds import KINDS, WatchedAlarm, watched_alarms
from catalog.runbooks import ScheduledRun, scheduled_runs
from catalog.validation import describe
from lambdas.errors import IncidentConflict, InvalidEvent
from lambdas.logic.mode import read_mode
from lambdas.logic.security import admit_security, is_cloudtrail
from lambdas.logic.service_events import admit_service_event, is_service_event
from lambdas.logic.store import CHANGED, DUPLICATE, STALE, Item, Store
from lambdas.models.events import AlarmStateChangeEvent, ScheduledEvent
from lambdas.models.steps import Decision


def _origin(parsed: AlarmStateChangeEvent | ScheduledEvent, config: CustomerConfig) -> None:
    if parsed.region != config.region:
        raise InvalidEvent(
            f"event from region {parsed.region}, but this automation serves customer {config.customer} in region {config.region}"
        )
    if parsed.account != config.account:
        raise InvalidEvent(
            f"event from account {parsed.account}, but this automation serves customer "
            f"{config.customer} in account {config.account}"
        )


def parse_event(event: object, config: CustomerConfig) -> tuple[AlarmStateChangeEvent, WatchedAlarm]:
    if not isinstance(event, dict):
        raise InvalidEvent(f"malformed alarm event: expected a JSON object, got {type(event).__name__}")
    try:
        parsed = AlarmStateChangeEvent.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc, "malformed alarm event")) from None
    _origin(parsed, config)
    alarms = watched_alarms(config)
    name = parsed.detail.alarmName
    if name not in alarms:
        raise InvalidEvent(
            f"alarm {name!r} does not belong to customer {config.customer}; its alarms are: {', '.join(sorted(alarms))}"
        )
    return parsed, alarms[name]


# CloudWatch stamps the event with the time of the alarm's state change; a little slack for its rounding
SAME_CHANGE = timedelta(seconds=1)


def unconfirmed(cloudwatch: Any, alarm: str, state: str, at: datetime) -> str | None:
    """Why the alarm itself (DescribeAlarms) does not confirm this state change, or None. An event can be forged
    (respond started directly) or late (the alarm changed again since): neither opens, closes or acts."""
    found = cloudwatch.describe_alarms(AlarmNames=[alarm], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    current = next(iter([*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]), None)
    if current is None:
        raise InvalidEvent(f"alarm {alarm} does not exist in CloudWatch: the event cannot be confirmed, nothing was done")
    now_state = str(current.get("StateValue"))
    since = current.get("StateTransitionedTimestamp") or current.get("StateUpdatedTimestamp")
    if not isinstance(since, datetime):
        raise InvalidEvent(f"alarm {alarm}: CloudWatch gave no time of its state; the event cannot be confirmed")
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    if at > since + SAME_CHANGE:
        return (
            f"not confirmed: {alarm} has been {now_state} since {since.isoformat()} and made no change at "
            f"{at.isoformat()}: a forged event (or a clock ahead); ignored"
        )
    if state == now_state:
        return None
    if at < since - SAME_CHANGE:
        return (
            f"stale: this {state} of {at.isoformat()} was superseded: {alarm} is {now_state} since {since.isoformat()}; ignored"
        )
    return f"not confirmed: {alarm} is {now_state} since {since.isoformat()}, not {state}: a forged event; ignored"


def incident_id(customer: str, target: str, kind: AlarmKind, at: datetime) -> str:
    """Readable and short enough for an SNS subject: dhbw-20261126T091233123Z-cpu-high-1a2b.
    Millisecond resolution, like CloudWatch's state timestamps: unique per state change of an alarm.
    The last part tells resources apart (a hash of the instance's name)."""
    tag = hashlib.sha1(target.encode(), usedforsecurity=False).hexdigest()[:4]
    return f"{customer}-{at.strftime('%Y%m%dT%H%M%S')}{at.microsecond // 1000:03d}Z-{kind.condition}-{tag}"


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


# A transition refused because another execution opened or closed the incident meanwhile is read again.
_ATTEMPTS = 3


def is_scheduled(event: object) -> bool:
    return isinstance(event, dict) and event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


def parse_schedule(event: object, config: CustomerConfig) -> tuple[ScheduledEvent, ScheduledRun]:
    try:
        parsed = ScheduledEvent.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc, "malformed scheduled event")) from None
    _origin(parsed, config)
    rule = parsed.resources[0].rpartition(":rule/")[2]
    runs = scheduled_runs(config)
    if rule not in runs:
        raise InvalidEvent(
            f"schedule rule {rule[:100]!r} does not belong to customer {config.customer}; its "
            f"schedules are: {', '.join(sorted(runs)) or 'none (all switched off)'}"
        )
    return parsed, runs[rule]


# A scheduled run that needs a person (a failed backup, a suspected state rollback) can wait for working hours.
SCHEDULE_SEVERITY = Severity.P2


def admit_schedule(event: object, *, config: CustomerConfig, store: Store, ssm: Any, mode_parameter: str) -> Decision:
    """A runbook's schedule fired: claim the firing (a redelivery runs nothing), then run the runbook, unpaged."""
    parsed, run = parse_schedule(event, config)
    rb, kind = run.runbook, KINDS[run.runbook.target_kind]
    target = kind.instances(config)[0]
    at = parsed.time
    inc = f"{config.customer}-{at.strftime('%Y%m%dT%H%M%S')}Z-{rb.name}"
    base: dict[str, Any] = {
        "customer": config.customer,
        "alarm": run.rule,
        "kind": kind.name,
        "target": target,
        kind.target_field: target,
        "condition": "schedule",
        "reason": f"schedule {run.expression}",
        "state_timestamp": at.isoformat(),
        "severity": SCHEDULE_SEVERITY.value,
        "impact": f"scheduled {rb.title}",
        "dedup_key": naming.schedule_dedup_key(config.customer, rb.name),
        "description": rb.title,
        "runbook": rb.name,
        "incident_id": inc,
    }
    holder = store.claim(f"{run.rule}#{at.isoformat()}", inc)
    if holder is not None:
        return Decision(
            **{**base, "incident_id": holder},
            decision="duplicate",
            note=f"duplicate delivery of the {at.isoformat()} run of {run.rule}; {holder} already runs it",
        )
    mode, mode_note = read_mode(ssm, mode_parameter)
    if mode == "off":
        return Decision(
            **base,
            mode=mode,
            mode_note=mode_note,
            decision="ignore",
            note=f"automation is off for customer {config.customer} ({mode_parameter}); the scheduled {rb.name} did not run",
        )
    runbook_input = {
        kind.target_field: target,
        **rb.schedule_input,
        "mode": mode,
        "incident_id": inc,
        "reason": f"schedule {run.rule} ({run.expression})",
        "trigger": "schedule",
    }
    return Decision(
        **base,
        mode=mode,
        mode_note=mode_note,
        decision="run",
        runbook_input=runbook_input,
        child_execution_name=naming.execution_name(inc),
        note=f"{rb.name} on its schedule ({'dry-run' if mode == 'dry-run' else 'enforce'})",
    )


@dataclass(frozen=True)
class _StateChange:
    """One alarm state change as admit handles it: what every decision about it carries, and how it is claimed."""

    watched: WatchedAlarm
    state: str
    previous: str | None
    base: dict[str, Any]  # the fields every decision about it carries
    change: str  # the incident id of this state change
    at_ms: int
    held: str  # why it is held back (a maintenance window is open), or ""
    window: Item | None  # the maintenance window open on the target, if any
    timestamp: datetime  # of the state change

    @property
    def alarm(self) -> str:
        return str(self.base["alarm"])

    @property
    def claim_key(self) -> str:
        return f"{self.alarm}#{self.state}#{self.base['state_timestamp']}"


def _state_change(parsed: AlarmStateChangeEvent, watched: WatchedAlarm, config: CustomerConfig, store: Store) -> _StateChange:
    kind, target = watched.alarm, watched.target
    detail = parsed.detail
    state, previous = detail.state.value, (detail.previousState.value if detail.previousState else None)
    alarm = detail.alarmName
    base: dict[str, Any] = {
        "customer": config.customer,
        "alarm": alarm,
        "kind": watched.kind.name,  # the resource kind: its diagnosis is lambdas/diagnosis/<kind>.py
        "target": target,
        watched.kind.target_field: target,  # e.g. "service": the name runbooks and operators use
        "condition": kind.condition,
        "state": state,
        "previous_state": previous,
        "reason": detail.state.reason,
        "state_timestamp": detail.state.timestamp.isoformat(),
        # the customer file may override the alarm kind's default (severities: {"<kind>/<condition>": "P1"})
        "severity": config.severity_of(watched.kind.name, kind.condition, kind.severity).value,
        "impact": kind.impact,
        "dedup_key": naming.dedup_key(config.customer, alarm),
        "description": kind.description,
        "runbook": "",  # always present: the workflow's Choice states compare it
    }
    # A maintenance window is open on the service: its alarms page at P3 (a status update) and remediate nothing.
    window = store.open_window(target) if watched.kind.maintenance_window else None
    held = (
        (f"maintenance window open on {target} (execution {window['execution']}, until {window['expires']}): P3, no action")
        if window
        else ""
    )
    if window:
        base["severity"] = Severity.P3.value
    change = incident_id(config.customer, target, kind, detail.state.timestamp)  # this state change
    return _StateChange(watched, state, previous, base, change, _ms(detail.state.timestamp), held, window, detail.state.timestamp)


def _stale(c: _StateChange, store: Store) -> Decision:
    last = store.last_state(c.alarm)
    return Decision(
        **c.base,
        incident_id=c.change,
        decision="ignore",
        note=f"stale: this {c.state} of {c.base['state_timestamp']} is older than the last state change "
        f"handled for {c.alarm} ({last.get('state', 'unknown')} at epoch ms {last.get('at_ms')}); "
        f"ignored",
    )


def _duplicate(c: _StateChange, holder: str | None) -> Decision:
    return Decision(
        **c.base,
        incident_id=holder,
        decision="duplicate",
        note=f"duplicate delivery of this state change; incident {holder} already handles it",
    )


def _claim_alarm(c: _StateChange, store: Store) -> tuple[str, str | None, Item | None, str]:
    """Claims an ALARM: (result, holder, the open incident it continues or None, the incident id)."""
    for _ in range(_ATTEMPTS):
        # An incident stays open through INSUFFICIENT_DATA: a new ALARM continues it (same incident,
        # same alert) instead of overwriting it; its runbook run is named after this state change.
        opened = store.open_incident_of(c.alarm)
        inc = str(opened["incident_id"]) if opened else c.change
        result, holder = store.transition(
            c.claim_key,
            inc,
            alarm=c.alarm,
            state=c.state,
            at_ms=c.at_ms,
            expected=inc if opened else None,
            then="keep" if opened else "open",
            opened_at=c.base["state_timestamp"],
            severity=c.base["severity"],
        )
        if result != CHANGED:
            break
    return result, holder, opened, inc


def _on_alarm(c: _StateChange, *, config: CustomerConfig, store: Store, ssm: Any, mode_parameter: str) -> Decision:
    result, holder, opened, inc = _claim_alarm(c, store)
    if result == STALE:
        return _stale(c, store)
    if result == DUPLICATE:
        return _duplicate(c, holder)
    if result == CHANGED:
        raise IncidentConflict(f"alarm {c.alarm}: its open incident kept changing under concurrent deliveries")
    continued = f"; continues incident {inc} (opened {opened['opened_at']})" if opened else ""
    mode, mode_note = read_mode(ssm, mode_parameter)
    decision = {**c.base, "incident_id": inc, "mode": mode, "mode_note": mode_note}
    kind = c.watched.alarm
    if opened and opened.get("opened_by") and kind.runbook is None and not c.held:
        # a service event opened it seconds before the alarm could (lambdas/logic/service_events.py): paged then
        return Decision(
            **decision,
            decision="join",
            opened_at=str(opened["opened_at"]),
            note=f"joins incident {inc}, opened {opened['opened_at']} by {opened['opened_by']}: already paged, not paged again",
        )
    if c.held:
        return Decision(**decision, decision="page", note=f"{c.held}{continued}")
    if kind.runbook is None:
        return Decision(**decision, decision="page", note=f"page only, no automatic action: {kind.no_runbook_reason}{continued}")
    if mode == "off":
        return Decision(
            **decision,
            decision="page",
            note=f"automation is off for customer {config.customer} ({mode_parameter}); no action taken{continued}",
        )
    runbook_input = {
        c.watched.kind.target_field: c.watched.target,
        **kind.runbook_input,
        "mode": mode,
        "incident_id": inc,
        "reason": f"alarm {c.alarm} is in ALARM",
        "trigger": "alarm",
    }
    return Decision(
        **{**decision, "runbook": kind.runbook},
        decision="remediate",
        runbook_input=runbook_input,
        # named after the state change: easy to find in the console, unique even when it continues
        child_execution_name=naming.execution_name(c.change),
        note=f"{kind.runbook} ({'dry-run' if mode == 'dry-run' else 'enforce'}){continued}",
    )


def _resolved(c: _StateChange, inc: str, opened: Item | None) -> Decision:
    # the OK resolves the page the incident opened with: one paged before a maintenance window opened on the
    # service is resolved in PagerDuty, not only told at P3 (the alert would stay open for good)
    paged = str((opened or {}).get("severity") or "")
    base, note = dict(c.base), f"alarm {c.alarm} returned to OK"
    if c.window and paged and paged != Severity.P3.value:
        base["severity"] = paged
        note += (
            f"; the {paged} alert opened before the maintenance window on {c.watched.target} (execution "
            f"{c.window['execution']}) is resolved"
        )
    resolved = Decision(
        **base, incident_id=inc, decision="resolve", note=note, opened_at=str(opened["opened_at"]) if opened else None
    )
    kind = c.watched.alarm
    hook = runbook(kind.runbook).on_resolve if kind.runbook else None
    if hook and kind.runbook:
        # the runbook undoes what must not outlast the incident (respond waits for its cooldown)
        resolved.runbook = kind.runbook
        resolved.restore_input = {c.watched.kind.target_field: c.watched.target, "alarm": c.alarm, "incident_id": inc}
    return resolved


def _on_ok(c: _StateChange, store: Store) -> Decision | None:
    """OK closes the open incident; None: there is none to close (nor an ALARM just before)."""
    # An incident stays open through INSUFFICIENT_DATA; OK closes it whatever came just before.
    # Claim and close are one conditional write: of two concurrent deliveries, one closes, one is a duplicate.
    for _ in range(_ATTEMPTS):
        opened = store.open_incident_of(c.alarm)
        if not opened and c.previous != "ALARM":
            return None
        inc = str(opened["incident_id"]) if opened else c.change
        result, holder = store.transition(
            c.claim_key,
            inc,
            alarm=c.alarm,
            state=c.state,
            at_ms=c.at_ms,
            expected=inc if opened else None,
            then="close" if opened else "none",
        )
        if result == CHANGED:
            continue
        if result == STALE:
            return _stale(c, store)
        if result == DUPLICATE:
            return _duplicate(c, holder)
        return _resolved(c, inc, opened)
    raise IncidentConflict(f"alarm {c.alarm}: its open incident kept changing under concurrent deliveries")


def admit(
    event: object,
    *,
    config: CustomerConfig,
    store: Store,
    ssm: Any,
    mode_parameter: str,
    cloudwatch: Any,
    clients: Callable[[str], Any] | None = None,
) -> Decision:
    """cloudwatch: an alarm event is confirmed against the alarm's own state before anything is written.
    clients: service -> client, for a service event confirmed against its resource (lambdas/logic/service_events.py)."""
    if is_scheduled(event):
        return admit_schedule(event, config=config, store=store, ssm=ssm, mode_parameter=mode_parameter)
    if is_cloudtrail(event):
        return admit_security(event, config=config, store=store)
    if is_service_event(event) and isinstance(event, dict):
        if clients is None:
            raise InvalidEvent("a service event needs its resource's client to be confirmed; admit was given none")
        return admit_service_event(
            event, config=config, store=store, ssm=ssm, mode_parameter=mode_parameter, cloudwatch=cloudwatch, clients=clients
        )
    parsed, watched = parse_event(event, config)
    c = _state_change(parsed, watched, config, store)
    problem = unconfirmed(cloudwatch, c.alarm, c.state, c.timestamp)
    if problem:  # recorded (Record's audit row), nothing opened, closed or run
        return Decision(**c.base, incident_id=c.change, decision="ignore", note=problem)
    if c.state == "ALARM":
        return _on_alarm(c, config=config, store=store, ssm=ssm, mode_parameter=mode_parameter)
    closed = _on_ok(c, store) if c.state == "OK" else None
    if closed is not None:
        return closed
    if not store.see_state(c.alarm, c.state, c.at_ms):
        return _stale(c, store)
    return Decision(
        **c.base, incident_id=c.change, decision="ignore", note=f"no action for a change from {c.previous} to {c.state}"
    )
