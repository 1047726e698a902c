"""record: write the outcome to the audit trail; page again when the outcome needs a person."""

from lambdas.logic.errors_text import explain
from lambdas.logic.paging import Pager
from lambdas.logic.store import Store

# Runbook outcomes that are fine without a person; anything else (refused, timed_out, ...) is paged.
SETTLED = {"scaled", "noop", "would_scale"}


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
        needs_person = result["outcome"] not in SETTLED
        result["paged"] = pager.outcome(admit, outcome, needs_person=needs_person)["sent"] is not None
    elif decision == "page":
        result.update(outcome="paged", message=admit.get("note"))
    elif decision == "resolve":
        result.update(outcome="resolved", message=admit.get("note"))
    else:
        result.update(outcome=decision, message=admit.get("note"))
    store.audit(subject, "record", {**result, "execution": execution})
    return result
