"""The report of a run: a public format (README, "The report"); extend it, never rename or drop fields."""


def page_entry(request: dict) -> dict:
    """The request body PagerDuty received, with the HTTP status it answered (``http_status``)."""
    body = request["body"]
    entry = dict(body) if isinstance(body, dict) else {"raw": body}
    entry["http_status"] = request["status"]
    return entry


def build(customer: str, executions: list[dict], actions: list[dict], page_requests: list[dict],
          notifications: list[dict], world: dict) -> dict:
    return {
        "customer": customer,
        "executions": [{k: v for k, v in e.items() if k not in ("arn", "started")} for e in executions],
        "actions": [{k: a[k] for k in ("service", "operation", "params")} | (
            {"error": a["error"]} if "error" in a else {}) for a in actions],
        "pages": [page_entry(r) for r in page_requests],
        "notifications": notifications,
        "world": world,
    }
