"""An incident's record and the fleet's open incidents, from each customer's automation table. Read-only.

``record`` collects every audit row of an incident: respond's rows (pk audit#<incident id>: what started it, admit's
decision, the page and PagerDuty's answer, the status update, the resolve), the rows of the runbook executions it
started (audit#<execution>: the report, approvals with who and when), and any other row that names the incident
(incident_id, e.g. a runbook's plan). Any id with audit rows is an incident (the ops account's P0 too).
"""

import json
from typing import Any

from catalog import naming
from operators.aws import Clients, CliError
from operators.reads import _json, _scan, deployed


def _names(item: dict[str, Any], incident: str) -> bool:
    if item.get("incident_id") == incident:
        return True
    plan = _json(item.get("plan"))
    return isinstance(plan, dict) and plan.get("incident_id") == incident


def _event(item: dict[str, Any]) -> dict[str, Any] | None:
    """One audit row as a timeline entry: {time, what, detail, row}; None: a row with nothing to say."""
    step = str(item.get("step") or item["sk"].rsplit("#", 1)[-1])
    time = str(item["sk"]).rsplit("#", 1)[0]
    subject = item["pk"].removeprefix(naming.AUDIT_KEY_PREFIX)
    if step == "record":
        decision, outcome = item.get("decision", ""), item.get("outcome", "")
        what = {"resolve": "resolve", "join": "join", "ignore": "ignored", "duplicate": "duplicate"}.get(decision, "admit")
        if outcome == "failed":
            what = "automation failed"
        detail = f"{decision} -> {outcome}: {item.get('message', '')}"
        if item.get("error"):
            detail += f" ({item['error']})"
        return {"time": time, "what": what, "detail": detail, "execution": item.get("execution"), "row": item}
    if step == "report":
        plan = _json(item.get("plan"))
        message = plan.get("message", "") if isinstance(plan, dict) else ""
        if item.get("error"):
            message = f"{item['error']}: {item.get('cause', '')}"
        return {
            "time": time,
            "what": "runbook",
            "detail": f"{item.get('runbook', '')} ({subject}) -> {item.get('outcome', '')}: {message}",
            "execution": subject,
            "row": item,
        }
    if step in ("approval", "approval_vote", "answer_refused", "act_refused"):
        who = item.get("by") or item.get("approver") or item.get("caller") or "unknown"
        answer = item.get("answer") or step.replace("_", " ")
        comment = f": {item['comment']}" if item.get("comment") else ""
        when = item.get("answered") or item.get("at") or time
        return {
            "time": time,
            "what": "approval",
            "detail": f"{item.get('runbook', '')} ({subject}) {answer} by {who} at {when}{comment}",
            "execution": subject,
            "row": item,
        }
    return {"time": time, "what": step, "detail": str(item.get("message") or item.get("note") or ""), "row": item}


def _expanded(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A record row says what started it and what was paged: those are entries of their own."""
    row = entry["row"]
    out = []
    trigger = _json(row.get("trigger"))
    if entry["what"] == "admit" and isinstance(trigger, dict):
        by = trigger.get("service_event") or {}
        started = (
            f"{by.get('title')}: {by.get('what')}" if by else f"alarm {row.get('alarm')} {trigger.get('state') or ''}".strip()
        )
        out.append({"time": str(trigger.get("at") or entry["time"]), "what": "event" if by else "alarm", "detail": started})
    out.append({k: v for k, v in entry.items() if k != "row"})
    page = _json(row.get("page"))
    if isinstance(page, dict) and page.get("sent"):
        answer = page.get("pagerduty") or {}
        said = (
            f"PagerDuty answered {answer.get('status') or answer.get('http_status') or '?'}" if answer else "no PagerDuty answer"
        )
        if isinstance(answer, dict) and answer.get("message"):
            said += f" ({answer['message']})"
        out.append({"time": entry["time"], "what": "page", "detail": f"{page['sent']} {page.get('dedup_key', '')}: {said}"})
        if page.get("status_update"):
            out.append({"time": entry["time"], "what": "status update", "detail": f"Current Status: {page['status_update']}"})
    return out


def record(clients: Clients, config: Any, incident: str) -> dict[str, Any]:
    """The incident's whole record: its timeline (oldest first), its state, and what the post-incident review needs."""
    deployed(clients, config)
    rows = _scan(clients, config, naming.AUDIT_KEY_PREFIX)
    own = [r for r in rows if r["pk"] == f"{naming.AUDIT_KEY_PREFIX}{incident}" or _names(r, incident)]
    if not own:
        raise CliError(
            f"no incident {incident!r} in the audit trail of customer {config.customer}: "
            f"`python cli.py incidents -c {config.customer}` lists the open ones"
        )
    started = {str(r.get("runbook_execution")) for r in own if r.get("runbook_execution")}
    # a runbook's execution named after the incident's state change (respond names its child so)
    started |= {naming.execution_name(incident)}
    runs = [r for r in rows if r["pk"].removeprefix(naming.AUDIT_KEY_PREFIX) in started and r not in own]
    entries = [e for e in (_event(r) for r in own + runs) if e is not None]
    timeline = sorted((x for e in entries for x in _expanded(e)), key=lambda e: e["time"])
    open_row = next((i for i in _scan(clients, config, "open#") if i.get("incident_id") == incident), None)
    triggers = [_json(r.get("trigger")) for r in own if r.get("step") == "record"]
    first = next((t for t in triggers if isinstance(t, dict)), {}) or {}
    alarms = sorted({str(r["alarm"]) for r in own if r.get("alarm")})
    return {
        "incident": incident,
        "customer": config.customer,
        "state": "open" if open_row else "closed",
        "opened": (open_row or {}).get("opened_at") or (timeline[0]["time"] if timeline else ""),
        "severity": first.get("severity") or (open_row or {}).get("severity") or "",
        "resource": f"{first.get('kind', '')} {first.get('target', '')}".strip(),
        "alarms": alarms,
        "impact": first.get("impact") or "",
        "timeline": timeline,
        "pages": [e for e in timeline if e["what"] == "page"],
        "runbooks": [e for e in timeline if e["what"] == "runbook"],
        "approvals": [e for e in timeline if e["what"] == "approval"],
    }


def text(rec: dict[str, Any]) -> str:
    head = (
        f"incident {rec['incident']} ({rec['customer']}): {rec['state']}, {rec['severity'] or 'severity unknown'}, "
        f"{rec['resource'] or 'resource unknown'}; opened {rec['opened']}"
    )
    lines = [head, ""] + [f"{e['time']}  {e['what']:<14} {e['detail']}" for e in rec["timeline"]]
    return "\n".join(lines)


def markdown(rec: dict[str, Any]) -> str:
    """The skeleton of a post-incident review: what the record knows is filled in, the rest is for people."""
    rows = "\n".join(f"| {e['time']} | {e['what']} | {e['detail'].replace('|', '/')} |" for e in rec["timeline"])
    actions = "\n".join(f"- {e['time']}: {e['detail']}" for e in rec["runbooks"] + rec["approvals"]) or "- none by the automation"
    pages = "\n".join(f"- {e['time']}: {e['detail']}" for e in rec["pages"]) or "- none"
    return f"""# Post-incident review: {rec["incident"]}

- Customer: {rec["customer"]}
- Severity: {rec["severity"] or "unknown"}
- Resource: {rec["resource"] or "unknown"}
- Alarms: {", ".join(rec["alarms"]) or "none"}
- State: {rec["state"]} (opened {rec["opened"]})

## Timeline

| Time (UTC) | What | Detail |
|---|---|---|
{rows}

## Impact

{rec["impact"] or "not stated by the automation"} (as the alarm kind states it; severity {rec["severity"] or "unknown"}).

_Who could not do what, for how long: for the people who handled it to write._

## Affected customers

- {rec["customer"]}

## Actions taken

{actions}

Pages:
{pages}

## Open questions

- What caused it, and why was it not prevented?
- Did detection and paging take as long as they should have?
- What do we change (runbook, alarm, automation), and who owns it?
"""


def as_json(rec: dict[str, Any]) -> str:
    return json.dumps(rec, indent=2, default=str)


def open_incidents(clients: Clients, config: Any) -> list[dict[str, Any]]:
    """The customer's open incidents (pk open#<alarm>), oldest first."""
    deployed(clients, config)
    rows = [
        {
            "customer": config.customer,
            "incident": i.get("incident_id", ""),
            "alarm": i["pk"].removeprefix("open#"),
            "opened": i.get("opened_at", ""),
            "severity": i.get("severity", ""),
            "opened_by": i.get("opened_by") or "alarm",
        }
        for i in _scan(clients, config, "open#")
    ]
    return sorted(rows, key=lambda r: (r["opened"], r["alarm"]))
