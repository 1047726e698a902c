"""The report of a run: a public format (README, "The report"); extend it, never rename or drop fields."""


def page_entry(request: dict, teams: dict[str, str] | None = None) -> dict:
    """The request body PagerDuty received, with the HTTP status it answered (``http_status``), the team its
    routing key belongs to (``team``; None for a key no team has) and its ``kind`` (trigger, resolve or change;
    acknowledge, or None for a body that is not an event)."""
    body = request["body"]
    entry = dict(body) if isinstance(body, dict) else {"raw": body}
    entry["http_status"] = request["status"]
    entry["team"] = (teams or {}).get(body.get("routing_key")) if isinstance(body, dict) else None
    if str(request.get("path", "")).endswith("/change/enqueue"):
        entry["kind"] = "change"
    else:
        entry["kind"] = body.get("event_action") if isinstance(body, dict) else None
    return entry


def sns_page(note: dict) -> dict:
    return {k: note[k] for k in ("subject", "message", "attributes") if k in note}


def approvals(rows: list[dict]) -> list[dict]:
    """Audit rows of answered approvals -> [{runbook, execution, requested, answer, by, comment, at}], by time."""
    out = [
        {
            "runbook": r.get("runbook"),
            "execution": str(r.get("pk", "")).split("#", 1)[-1],
            "requested": r.get("requested"),
            "answer": r.get("answer"),
            "by": r.get("by"),
            "comment": r.get("comment"),
            "at": r.get("at"),
        }
        for r in rows
    ]
    return sorted(out, key=lambda a: (str(a["requested"]), str(a["at"]), a["execution"]))


def build(
    customer: str,
    executions: list[dict],
    actions: list[dict],
    page_requests: list[dict],
    notifications: list[dict],
    world: dict,
    teams: dict[str, str] | None = None,
    approvals: list[dict] | None = None,
) -> dict:
    return {
        "customer": customer,
        "executions": [{k: v for k, v in e.items() if k not in ("arn", "started")} for e in executions],
        "actions": [
            {k: a[k] for k in ("service", "operation", "params")} | ({"error": a["error"]} if "error" in a else {})
            for a in actions
        ],
        "pages": [page_entry(r, teams) for r in page_requests],
        "notifications": notifications,
        # pages that PagerDuty did not take (after its retries), published to the status topic instead
        "sns_pages": [sns_page(n) for n in notifications if (n.get("attributes") or {}).get("kind") == "page-fallback"],
        "world": world,
        # every approval asked for, and how it ended (approved, rejected, timed_out), who answered and why
        "approvals": approvals or [],
    }


def ops_section(runs: list[dict], p0_requests: list[dict], fleet: list[dict], notifications: list[dict] | None = None) -> dict:
    """The ops account's part of a report (issue 16): each correlate run with what it concluded (its Correlate step's
    outcome, and the recovery's recheck), the P0 pages, and the fleet table's customers, down rows and P0."""

    def concluded(run: dict) -> dict:
        output = run.get("output") if isinstance(run.get("output"), dict) else {}
        correlate = output.get("correlate") if isinstance(output.get("correlate"), dict) else {}
        event = output.get("detail") if isinstance(output.get("detail"), dict) else {}
        entry = {
            "status": run["status"],
            "account": output.get("account"),
            "customer": event.get("customer"),
            "incident_id": event.get("incident_id"),
            "state": event.get("state"),
            "outcome": correlate.get("outcome"),
            "message": correlate.get("message"),
        }
        if isinstance(output.get("recheck"), dict):
            entry["recheck"] = output["recheck"].get("outcome")
        return entry

    p0 = next((r for r in fleet if r["pk"] == "fleet#p0"), None)
    return {
        "customer": "ops",
        "correlations": [concluded(r) for r in runs],
        "p0_pages": [page_entry(r, {}) for r in p0_requests],
        "p0": {k: v for k, v in p0.items() if k not in ("pk", "sk")} if p0 else None,
        "down": [
            {"customer": r["customer"], "incident_id": r["incident_id"], "since": r["since"]}
            for r in fleet
            if r["pk"] == "fleet#down"
        ],
        "customers": {
            r["sk"]: {k: v for k, v in r.items() if k not in ("pk", "sk")} for r in fleet if r["pk"] == "fleet#customers"
        },
        # the ops status topic's messages (the P0's status updates, refusals)
        "notifications": notifications or [],
        # incident events refused (malformed) or ignored (an account that is no customer's), from the audit trail
        "refused": [{k: r.get(k) for k in ("outcome", "message", "account")} for r in fleet if r["pk"] == "audit#refused"],
    }
