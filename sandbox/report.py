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
