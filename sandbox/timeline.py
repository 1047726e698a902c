"""A readable timeline of what happened: events, workflow steps, AWS changes, pages, status updates."""

import json
import threading
import time

from catalog import RUNBOOKS


def _short(value, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _declared(template: str | None, plan: dict) -> str | None:
    """A runbook's declared description of its plan, filled from the plan's keys (None if one is missing)."""
    try:
        return template.format_map(plan) if template else None
    except (KeyError, ValueError, IndexError):
        return None


def _describe_step(component: str, event, result) -> str:
    """One line on what a Lambda step decided, in the runbook's words."""
    r = result if isinstance(result, dict) else {}
    e = event if isinstance(event, dict) else {}
    if component == "admit":
        extra = f", {r['severity']}, mode {r['mode']}" if r.get("mode") else f", {r.get('severity')}"
        extra += f", to the {r['team']} team" if r.get("team") else ""  # set when not the default (security events)
        return f"admit: {r.get('decision')} ({r.get('note')}){extra}; incident {r.get('incident_id')}"
    if component == "page":
        return f"page: {e.get('action')} sent, dedup_key {r.get('dedup_key')}"
    if component == "record":
        return f"record: outcome {r.get('outcome')}: {r.get('message')}"
    step = e.get("step", "?")
    declared = RUNBOOKS.get(component)
    if step == "guard":
        # a plan describes itself (its summary), or its runbook declares how (catalog: Runbook.plan_summary)
        summary = r.get("summary") or _declared(declared.plan_summary if declared else None, r)
        if r.get("proceed") and summary:
            return f"{component}/guard: plan {summary} (mode {r.get('mode')}{', dry-run' if r.get('dry_run') else ''})"
        if r.get("proceed"):
            return f"{component}/guard: plan {_short(r)}"
        return f"{component}/guard: {r.get('outcome')}: {r.get('message')}"
    if step == "act":
        return f"{component}/act: " + (r.get("message") or "change made, verifying")
    if step == "verify":
        if r.get("settled"):
            return f"{component}/verify: {r.get('outcome')}: {r.get('message')}"
        progress = _declared(declared.poll_summary if declared else None, r) or r.get("message") or "not there yet"
        return f"{component}/verify: poll {r.get('polls')}: {progress}, waiting"
    return f"{component}/{step}: " + (str(r["message"]) if r.get("message") else _short(r))


MARKERS = {
    "alarm": "ALARM",
    "event": "EVENT",
    "start": "START",
    "deploy": "DEPLOY",
    "mode": "MODE",
    "schedule": "SCHED",
    "execution": "DONE",
    "step": "STEP",
    "action": "CHANGE",
    "page": "PAGE",
    "notify": "NOTIFY",
    "scenario": "STEP",
}


def render_entry(e: dict) -> str:
    indent = "  " * e["depth"]
    marker = MARKERS.get(e["kind"], e["kind"].upper())
    return f"{e['t']:7.2f}s {marker:<7}{indent}{e['text']}"


class Timeline:
    def __init__(self, live=None):
        self.entries: list[dict] = []
        self.started = time.perf_counter()
        self._lock = threading.Lock()  # invocations end concurrently; entries stay in time order
        self.tag_customers = False  # several customers at once: each step line names its customer
        self.live = live  # a stream: each line is printed to it as it happens (the live sandbox)

    def add(self, kind: str, text: str, depth: int = 0) -> None:
        with self._lock:
            entry = {"t": time.perf_counter() - self.started, "kind": kind, "text": text, "depth": depth}
            self.entries.append(entry)
            if self.live is not None:
                print(render_entry(entry), file=self.live, flush=True)

    def lambda_call(self, function: str, event, result, error, seconds: float) -> None:
        customer, _, component = function.partition("-remediation-")
        component = component or customer
        tag = f"[{customer.removeprefix('lecture-')}] " if self.tag_customers else ""
        if error:
            self.add("step", f"{tag}{component}: FAILED {error['errorType']}: {error['errorMessage']}", 1)
        else:
            self.add("step", tag + _describe_step(component, event, result) + f"  [{seconds * 1000:.0f} ms]", 1)

    def action(self, a: dict) -> None:
        line = f"AWS change: {a['service']} {a['operation']} {_short(a['params'], 200)}"
        if a.get("before") is not None or a.get("after") is not None:
            line += f"\n      before: {_short(a.get('before'))}\n      after:  {_short(a.get('after'))}"
        if a.get("error"):
            line += f"\n      error: {a['error']}"
        self.add("action", line, 2)

    def page(self, request: dict) -> None:
        body = request.get("body") if isinstance(request.get("body"), dict) else {}
        summary = (body.get("payload") or {}).get("summary", "")
        if str(request.get("path", "")).endswith("/change/enqueue"):
            text = f"PagerDuty change event -> HTTP {request.get('status')}"
        else:
            text = f"PagerDuty {body.get('event_action')} dedup_key={body.get('dedup_key')} -> HTTP {request.get('status')}"
        if summary:
            text += f'\n      "{_short(summary, 200)}"'
        team = ((body.get("payload") or {}).get("custom_details") or {}).get("team")
        if team:
            text += f"\n      team: {team}"
        for link in body.get("links") or []:
            text += f"\n      link: {link.get('text')}: {link.get('href')}"
        if request.get("errors"):
            text += f"\n      rejected: {request['errors']}"
        self.add("page", text, 2)

    def notification(self, note: dict) -> None:
        if (note.get("attributes") or {}).get("kind") == "page-fallback":
            self.add("notify", f"SNS page fallback: {note.get('subject')}", 2)
            return
        status = next((line for line in (note.get("message") or "").splitlines() if line.startswith("Current Status")), "")
        self.add("notify", f"SNS status update: {note.get('subject')} ({status})", 2)

    def execution(self, e: dict) -> None:
        text = f"{e['state_machine']} execution {e['name']}: {e['status']}"
        if e.get("error"):
            text += f" ({e['error']}: {_short(e.get('cause') or '', 200)})"
        self.add("execution", text, 1)

    def render(self) -> str:
        return "\n".join(render_entry(e) for e in self.entries)
