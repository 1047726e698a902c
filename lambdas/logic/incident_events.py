"""A customer's incident events (issue 16): admit and record tell the ops account when an incident opens, closes or
settles, by a PutEvents on the customer's default bus (a rule forwards it to the ops bus).

A failed emit never holds back the incident: it is returned as a sentence, which admit's decision carries in its
note (record writes it to the audit trail) and record writes as an audit row of its own; the handler logs it.
"""

import json
from datetime import datetime
from typing import Any

from catalog import naming
from catalog.alarms import alarm_kind_keys, down_alarm_kind_keys
from lambdas.models.fleet import IncidentEvent, IncidentState
from lambdas.models.steps import Decision, RecordResult

MESSAGE_MAX = 1024


def _kind_key(decision: Decision) -> str:
    return f"{decision.kind}/{decision.condition}"


def of_decision(decision: Decision, state: IncidentState, at: datetime, **extra: Any) -> IncidentEvent | None:
    """The incident event of an alarm incident (a scheduled run or a security event is not the fleet's)."""
    key = _kind_key(decision)
    if key not in alarm_kind_keys() or not decision.incident_id:
        return None
    return IncidentEvent(
        customer=decision.customer,
        incident_id=decision.incident_id,
        kind=key,
        severity=decision.severity,  # admit's severities are the catalog's P0-P3
        resource=decision.target,
        state=state,
        time=at,
        down=key in down_alarm_kind_keys(),
        alarm=decision.alarm,
        mode=decision.mode,
        **extra,
    )


def of_admit(decision: Decision) -> IncidentEvent | None:
    """admit opened or continued an incident (an ALARM it pages or remediates), or closed one (resolve)."""
    if decision.decision in ("remediate", "page") and decision.state == "ALARM":
        state: IncidentState = "open"
    elif decision.decision == "resolve":
        state = "closed"
    else:
        return None
    return of_decision(decision, state, datetime.fromisoformat(decision.state_timestamp))


def of_record(decision: Decision, result: RecordResult, now: datetime) -> IncidentEvent | None:
    """record settled an incident: its runbook's outcome (a page-only incident settles as "paged")."""
    if decision.decision not in ("remediate", "page") or decision.state != "ALARM":
        return None
    outcome, message = (result.outcome or "")[:100] or None, (result.message or "")[:MESSAGE_MAX] or None
    return of_decision(decision, "settled", now, outcome=outcome, message=message)


def emit(events: Any, event: IncidentEvent) -> str | None:
    """Put the event on the customer's default bus; None when EventBridge took it, else what went wrong."""
    try:
        resp = events.put_events(
            Entries=[
                {
                    "Source": naming.INCIDENT_EVENT_SOURCE,
                    "DetailType": naming.INCIDENT_EVENT_DETAIL_TYPE,
                    "Detail": json.dumps(event.to_detail()),
                    "Resources": [],
                    "Time": event.time,
                }
            ]
        )
    except Exception as exc:  # noqa: BLE001 - reported by the caller, never raised: the incident goes on
        return f"the ops account was not told of {event.state} incident {event.incident_id}: {type(exc).__name__}: {exc}"
    if resp.get("FailedEntryCount"):
        entry: dict[str, Any] = next((e for e in resp.get("Entries", []) if e.get("ErrorCode")), {})
        return (
            f"the ops account was not told of {event.state} incident {event.incident_id}: EventBridge refused the event "
            f"({entry.get('ErrorCode')}: {entry.get('ErrorMessage')})"
        )
    return None


def after_admit(decision: Decision, events: Any) -> str | None:
    """Emit admit's incident event, if it has one; a failure is added to the decision's note (the audit row)."""
    event = of_admit(decision)
    problem = emit(events, event) if event else None
    if problem:
        decision.note = f"{decision.note}; {problem}" if decision.note else problem
    return problem


def after_record(state: dict[str, Any], result: RecordResult, *, events: Any, store: Any, now: datetime) -> str | None:
    """Emit record's settled event; a failure is an audit row of its own (step "fleet") next to record's."""
    raw = state.get("admit")
    if not isinstance(raw, dict) or result.outcome == "failed":
        return None
    try:
        decision = Decision.model_validate(raw)
    except ValueError:
        return None  # record itself refused it already
    event = of_record(decision, result, now)
    problem = emit(events, event) if event else None
    if problem:
        store.audit(result.incident_id, "fleet", {"outcome": "not-told", "message": problem})
    return problem
