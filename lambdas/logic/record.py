"""record: write the outcome to the audit trail; page again when the outcome needs a person."""

from typing import Any

from catalog.runbooks import runbook
from lambdas.errors import PagingFailed
from lambdas.logic.errors_text import explain
from lambdas.logic.paging import Pager, outcome_of
from lambdas.logic.store import Store
from lambdas.models.steps import Decision, RecordResult, parse_step


def record(state: dict[str, Any], *, store: Store, pager: Pager, execution: str, failed: bool = False) -> RecordResult:
    if failed:
        # Read leniently: the workflow may have failed in admit, before any decision existed.
        given = state.get("admit")
        partial: dict[str, Any] = given if isinstance(given, dict) else {}
        subject = str(partial.get("incident_id") or f"execution-{execution}")
        name, message = explain(state.get("error"))
        failure = RecordResult(
            incident_id=subject, decision=str(partial.get("decision", "rejected")), outcome="failed", error=name, message=message
        )
        store.audit(subject, "record", {**failure.to_json(), "execution": execution, "alarm": partial.get("alarm")})
        return failure

    admit = parse_step(Decision, state.get("admit"), "record: admit's decision")
    subject = admit.incident_id or f"execution-{execution}"
    decision = admit.decision
    result = RecordResult(incident_id=subject, decision=decision, alarm=admit.alarm)
    if decision in ("remediate", "run"):
        outcome = outcome_of((state.get("remediation") or {}).get("Output"))
        result.runbook = admit.runbook
        result.outcome = outcome.outcome or "unknown"
        result.message = outcome.message or "the runbook returned no message"
        # each runbook declares which of its outcomes need a person; an undeclared one always does
        rb = runbook(admit.runbook)
        needs_person = rb.needs_person(result.outcome)
        declared = rb.outcome(result.outcome)
        failed = declared is None or declared.kind == "failed"  # failed or timed out: escalated one step
        # An OK may have resolved the alert while the runbook ran (verify polls for minutes): a trigger now
        # would reopen it. Only the same incident still open may be paged.
        still_open = store.open_incident_of(admit.alarm) if decision == "remediate" else None
        resolved = decision == "remediate" and needs_person and (still_open or {}).get("incident_id") != admit.incident_id
        if resolved:
            result.message = f"{result.message}; the alarm was resolved meanwhile: status update only, not paged again"
        # a runbook that ran before the page: that page carried the outcome already
        carried = bool((state.get("page") or {}).get("outcome"))
        try:
            result.paged = (
                pager.outcome(
                    admit,
                    outcome,
                    needs_person=needs_person,
                    resolved=resolved,
                    already_paged=carried,
                    quiet=decision == "run",
                    escalate=failed and decision == "remediate",
                )["sent"]
                is not None
            )
            if outcome.alerts:
                result.alerts = pager.alerts(admit, outcome.alerts)
            # a change the automation made (the runbook declares which outcomes are changes): PagerDuty's timeline
            if runbook(admit.runbook).made_change(result.outcome):
                result.change_event = pager.change(admit, outcome)["sent"] == "change"
        except Exception as exc:  # noqa: BLE001 - recorded, then raised below as PagingFailed
            state = {**state, "page_error": state.get("page_error") or {"Error": type(exc).__name__, "Cause": str(exc)}}
        # the runbook did its part and the incident is still open: respond looks at the alarm again later
        recheck = pager.config.paging.recheck_minutes
        if (
            decision == "remediate"
            and declared is not None
            and declared.kind == "ok"
            and recheck
            and (still_open or {}).get("incident_id") == admit.incident_id
        ):
            result.recheck = True
    elif decision == "page":
        result.outcome, result.message = "paged", admit.note
    elif decision == "resolve":
        restore = outcome_of(state.get("restore"))
        result.outcome = "resolved"
        result.message = "; ".join(m for m in (admit.note, restore.message) if m)
    else:
        result.outcome, result.message = decision, admit.note
    if state.get("page_error"):
        name, message = explain(state["page_error"])
        result.page_error = f"{name}: {message}"
    store.audit(subject, "record", {**result.to_json(), "execution": execution, **incident_record(admit, state)})
    if result.page_error:
        raise PagingFailed(
            f"incident {subject}: the page could not be sent ({result.page_error}); "
            f"automation outcome: {result.outcome}: {result.message}"
        )
    return result


def incident_record(admit: Decision, state: dict[str, Any]) -> dict[str, Any]:
    """What the incident's record (`cli.py incident`) reads from this row besides the result: what started it, the
    page sent and PagerDuty's answer, and the runbook execution it started."""
    page = state.get("page") if isinstance(state.get("page"), dict) else None
    started = {k: v for k, v in (("kind", admit.kind), ("target", admit.target), ("condition", admit.condition)) if v}
    trigger: dict[str, Any] = {
        **started,
        "severity": admit.severity,
        "impact": admit.impact,
        "at": admit.state_timestamp,
        "reason": admit.reason[:1000],
        **({"state": admit.state} if admit.state else {}),
        **({"service_event": admit.service_event} if admit.service_event else {}),
        **({"security_event": {"kind": admit.security_event.get("kind")}} if admit.security_event else {}),
    }
    return {
        "trigger": trigger,
        **(
            {"page": {k: page.get(k) for k in ("sent", "dedup_key", "pagerduty", "status_update", "team") if k in page}}
            if page
            else {}
        ),
        **({"runbook_execution": admit.child_execution_name} if admit.child_execution_name else {}),
    }
