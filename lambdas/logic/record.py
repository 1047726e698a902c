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
        try:
            result["paged"] = pager.outcome(admit, outcome, needs_person=needs_person)["sent"] is not None
        except Exception as exc:  # noqa: BLE001 - recorded, then raised below as PagingFailed
            state = {**state, "page_error": state.get("page_error") or {"Error": type(exc).__name__,
                                                                       "Cause": str(exc)}}
    elif decision == "page":
        result.update(outcome="paged", message=admit.get("note"))
    elif decision == "resolve":
        result.update(outcome="resolved", message=admit.get("note"))
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
