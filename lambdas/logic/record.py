"""record: write the outcome to the audit trail; page again when the outcome needs a person."""

from catalog.runbooks import runbook
from lambdas.errors import PagingFailed
from lambdas.logic.errors_text import explain
from lambdas.logic.paging import Pager
from lambdas.logic.store import Store



def record(state: dict, *, store: Store, pager: Pager, execution: str, failed: bool = False) -> dict:
    admit = state.get("admit") if isinstance(state.get("admit"), dict) else {}
    subject = admit.get("incident_id") or f"execution-{execution}"
    if failed:
        name, message = explain(state.get("error"))
        result = {"incident_id": subject, "decision": admit.get("decision", "rejected"), "outcome": "failed",
                  "error": name, "message": message}
        store.audit(subject, "record", {**result, "execution": execution, "alarm": admit.get("alarm")})
        return result

    decision = admit["decision"]
    result = {"incident_id": subject, "decision": decision, "alarm": admit.get("alarm")}
    if decision == "remediate":
        outcome = (state.get("remediation") or {}).get("Output") or {}
        result.update(runbook=admit.get("runbook"), outcome=outcome.get("outcome", "unknown"),
                      message=outcome.get("message", "the runbook returned no message"))
        # each runbook declares which of its outcomes need a person; an undeclared one always does
        needs_person = runbook(str(admit.get("runbook"))).needs_person(result["outcome"])
        # An OK may have resolved the alert while the runbook ran (verify polls for minutes): a trigger now
        # would reopen it. Only the same incident still open may be paged.
        still_open = store.open_incident_of(str(admit.get("alarm")))
        resolved = needs_person and (still_open or {}).get("incident_id") != admit.get("incident_id")
        if resolved:
            result["message"] = f"{result['message']}; the alarm was resolved meanwhile: status update only, not paged again"
        try:
            result["paged"] = pager.outcome(admit, outcome, needs_person=needs_person,
                                            resolved=resolved)["sent"] is not None
        except Exception as exc:  # noqa: BLE001 - recorded, then raised below as PagingFailed
            state = {**state, "page_error": state.get("page_error") or {"Error": type(exc).__name__,
                                                                       "Cause": str(exc)}}
    elif decision == "page":
        result.update(outcome="paged", message=admit.get("note"))
    elif decision == "resolve":
        restore = state.get("restore") if isinstance(state.get("restore"), dict) else {}
        result.update(outcome="resolved", message="; ".join(str(m) for m in (admit.get("note"), restore.get("message"))
                                                            if m))
    else:
        result.update(outcome=decision, message=admit.get("note"))
    if state.get("page_error"):
        name, message = explain(state["page_error"])
        result["page_error"] = f"{name}: {message}"
    store.audit(subject, "record", {**result, "execution": execution})
    if result.get("page_error"):
        raise PagingFailed(f"incident {subject}: the page could not be sent ({result['page_error']}); "
                           f"automation outcome: {result.get('outcome')}: {result.get('message')}")
    return result
