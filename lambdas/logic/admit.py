"""admit: validate and classify an alarm event, claim the incident, read the mode switch.

Decisions: remediate (page, then run a runbook), page (page only), resolve (the alarm cleared),
duplicate (another execution holds this state change), ignore (nothing to do, recorded).
"""

import hashlib
from datetime import datetime

from pydantic import ValidationError

from catalog import AlarmKind, CustomerConfig, naming
from catalog.kinds import WatchedAlarm, watched_alarms
from lambdas.errors import InvalidEvent
from lambdas.logic.mode import read_mode
from lambdas.logic.store import Store
from lambdas.models.events import AlarmStateChangeEvent
from catalog.validation import describe


def parse_event(event: object, config: CustomerConfig) -> tuple[AlarmStateChangeEvent, WatchedAlarm]:
    if not isinstance(event, dict):
        raise InvalidEvent(f"malformed alarm event: expected a JSON object, got {type(event).__name__}")
    try:
        parsed = AlarmStateChangeEvent.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc, "malformed alarm event")) from None
    if parsed.account != config.account:
        raise InvalidEvent(
            f"event from account {parsed.account}, but this automation serves customer "
            f"{config.customer} in account {config.account}"
        )
    alarms = watched_alarms(config)
    name = parsed.detail.alarmName
    if name not in alarms:
        raise InvalidEvent(
            f"alarm {name!r} does not belong to customer {config.customer}; its alarms are: {', '.join(sorted(alarms))}"
        )
    return parsed, alarms[name]


def incident_id(customer: str, target: str, kind: AlarmKind, at: datetime) -> str:
    """Readable and short enough for an SNS subject: dhbw-20261126T091233Z-cpu-high-1a2b.
    The last part tells resources apart (a hash of the instance's name)."""
    tag = hashlib.sha1(target.encode()).hexdigest()[:4]
    return f"{customer}-{at.strftime('%Y%m%dT%H%M%SZ')}-{kind.condition}-{tag}"


def admit(event: object, *, config: CustomerConfig, store: Store, ssm, mode_parameter: str) -> dict:
    parsed, watched = parse_event(event, config)
    kind, service = watched.alarm, watched.target
    detail = parsed.detail
    state, previous = detail.state.value, (detail.previousState.value if detail.previousState else None)
    alarm = detail.alarmName
    base = {
        "customer": config.customer,
        "alarm": alarm,
        "kind": watched.kind.name,  # the resource kind: its diagnosis is lambdas/diagnosis/<kind>.py
        "target": service,
        watched.kind.target_field: service,  # e.g. "service": the name runbooks and operators use
        "condition": kind.condition,
        "state": state,
        "previous_state": previous,
        "reason": detail.state.reason,
        "state_timestamp": detail.state.timestamp.isoformat(),
        "severity": kind.severity.value,
        "impact": kind.impact,
        "dedup_key": naming.dedup_key(config.customer, alarm),
        "description": kind.description,
        "runbook": "",  # always present: the workflow's Choice states compare it
    }

    if state == "ALARM":
        inc = incident_id(config.customer, service, kind, detail.state.timestamp)
        holder = store.claim(f"{alarm}#{state}#{base['state_timestamp']}", inc)
        if holder is not None:
            return {**base, "incident_id": holder, "decision": "duplicate",
                    "note": f"duplicate delivery of this state change; incident {holder} already handles it"}
        store.open_incident(alarm, inc, base["state_timestamp"])
        mode, mode_note = read_mode(ssm, mode_parameter)
        decision = {**base, "incident_id": inc, "mode": mode, "mode_note": mode_note}
        if kind.runbook is None:
            return {**decision, "decision": "page", "note": f"page only, no automatic action: {kind.no_runbook_reason}"}
        if mode == "off":
            return {**decision, "decision": "page",
                    "note": f"automation is off for customer {config.customer} ({mode_parameter}); no action taken"}
        runbook_input = {watched.kind.target_field: service, **kind.runbook_input, "mode": mode, "incident_id": inc,
                         "reason": f"alarm {alarm} is in ALARM"}
        return {**decision, "decision": "remediate", "runbook": kind.runbook, "runbook_input": runbook_input,
                # the runbook execution is named after the incident: easy to find in the console, unique
                "child_execution_name": naming.execution_name(inc),
                "note": f"{kind.runbook} ({'dry-run' if mode == 'dry-run' else 'enforce'})"}

    if state == "OK":
        # An incident stays open through INSUFFICIENT_DATA; OK closes it whatever came just before.
        opened = store.close_incident(alarm)
        if opened or previous == "ALARM":
            inc = str(opened["incident_id"]) if opened else incident_id(config.customer, service, kind,
                                                                          detail.state.timestamp)
            holder = store.claim(f"{alarm}#{state}#{base['state_timestamp']}", inc)
            if holder is not None:
                return {**base, "incident_id": holder, "decision": "duplicate",
                        "note": f"duplicate delivery of this state change; incident {holder} already handles it"}
            return {**base, "incident_id": inc, "decision": "resolve", "note": f"alarm {alarm} returned to OK",
                    "opened_at": str(opened["opened_at"]) if opened else None}

    inc = incident_id(config.customer, service, kind, detail.state.timestamp)
    return {**base, "incident_id": inc, "decision": "ignore",
            "note": f"no action for a change from {previous} to {state}"}

