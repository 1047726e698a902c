"""PagerDuty Events API v2: build events and send them with bounded retries.

202 is success; 400 is never retried; 429 and 5xx (and network errors) are retried with backoff.
Change events (a change the automation made) go to /v2/change/enqueue on the same host.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from lambdas.errors import PagerDutyError

MAX_BYTES = 512 * 1024
SUMMARY_MAX = 1024
ANSWER_MAX_BYTES = 64 * 1024  # PagerDuty answers ~100 bytes; more is never read into the execution's state
DETAIL_MAX = 500
CLIENT = "lecture-remediation"


def trigger_event(
    routing_key: str,
    dedup_key: str,
    *,
    summary: str,
    source: str,
    severity: str,
    timestamp: str | None = None,
    component: str | None = None,
    group: str | None = None,
    event_class: str | None = None,
    custom_details: dict[str, Any] | None = None,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"summary": summary[:SUMMARY_MAX], "source": source, "severity": severity}
    optional: dict[str, Any] = {
        "timestamp": timestamp,
        "component": component,
        "group": group,
        "class": event_class,
        "custom_details": custom_details,
    }
    payload.update({k: v for k, v in optional.items() if v})
    event = {"routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key, "client": CLIENT, "payload": payload}
    return {**event, "links": links} if links else event


def change_event(
    routing_key: str,
    *,
    summary: str,
    source: str,
    timestamp: str | None = None,
    custom_details: dict[str, Any] | None = None,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A change the automation made (a scale, a snapshot, a backup): shown on the service's timeline, never
    notifies anyone."""
    payload: dict[str, Any] = {"summary": summary[:SUMMARY_MAX], "source": source}
    payload.update({k: v for k, v in {"timestamp": timestamp, "custom_details": custom_details}.items() if v})
    event: dict[str, Any] = {"routing_key": routing_key, "payload": payload}
    return {**event, "links": links} if links else event


def change_url(events_url: str) -> str:
    """.../v2/enqueue -> .../v2/change/enqueue (the same host)."""
    return events_url.removesuffix("/enqueue") + "/change/enqueue"


def link(href: str, text: str) -> dict[str, str]:
    return {"href": href, "text": text}


TRIM_NOTE_MAX = 20  # at most this many trim notes; the loop below is bounded by it too


def trim(event: dict[str, Any], field: str = "diagnosis", limit: int = MAX_BYTES - 4096) -> dict[str, Any]:
    """The event with payload.custom_details[field] cut down until the body fits under ``limit`` bytes: the
    largest part first (a list keeps its first half, a long text its first half, anything else is dropped).
    The JSON stays whole; custom_details.trimmed says what was cut. Other fields are never touched."""
    details = (event.get("payload") or {}).get("custom_details")
    if not isinstance(details, dict) or not isinstance(details.get(field), dict) or _size(event) <= limit:
        return event
    part: dict[str, Any] = dict(details[field])
    notes: list[str] = []
    for _ in range(200):
        if (
            _size({**event, "payload": {**event["payload"], "custom_details": {**details, field: part, "trimmed": notes}}})
            <= limit
            or not part
        ):
            break
        key = max(part, key=lambda k: _size(part[k]))
        value, before = part[key], _size(part[key])
        if isinstance(value, list) and len(value) > 1:
            part[key] = value[: len(value) // 2]
            note = f"{field}.{key}: kept the first {len(part[key])} of {len(value)} items"
        elif isinstance(value, str) and len(value) > 200:
            part[key] = value[: len(value) // 2]
            note = f"{field}.{key}: kept the first {len(part[key])} of {len(value)} characters"
        else:
            part[key] = f"[trimmed: {before} bytes]"
            note = f"{field}.{key}: dropped ({before} bytes)"
        notes = [n for n in notes if not n.startswith(f"{field}.{key}:")][-TRIM_NOTE_MAX:] + [note]
    trimmed = {**details, field: part, "trimmed": notes}
    return {**event, "payload": {**event["payload"], "custom_details": trimmed}}


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str).encode())


def resolve_event(routing_key: str, dedup_key: str) -> dict[str, Any]:
    return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}


def send(
    event: dict[str, Any],
    url: str,
    *,
    attempts: int = 3,
    backoff_seconds: float = 1.0,
    timeout: float = 5.0,
    sleep: Callable[[float], None] | None = None,  # time.sleep, looked up when it waits
) -> dict[str, Any]:
    body = json.dumps(event, default=str).encode()
    if len(body) > MAX_BYTES:
        raise PagerDutyError(f"event is {len(body)} bytes, above PagerDuty's limit of {MAX_BYTES}")
    last = ""
    for attempt in range(1, attempts + 1):
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - URL is configuration
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - URL is configuration
                return _answer(resp.read(ANSWER_MAX_BYTES + 1))
        except urllib.error.HTTPError as exc:
            detail = exc.read(DETAIL_MAX).decode(errors="replace")[:DETAIL_MAX]
            if exc.code == 400:
                raise PagerDutyError(f"PagerDuty rejected the event (400): {detail}") from None
            if exc.code != 429 and exc.code < 500:
                raise PagerDutyError(f"PagerDuty answered {exc.code}: {detail}") from None
            last = f"{exc.code}: {detail}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = f"no answer from {url}: {exc}"
        if attempt < attempts:
            (time.sleep if sleep is None else sleep)(backoff_seconds * 2 ** (attempt - 1))
    raise PagerDutyError(f"PagerDuty unavailable after {attempts} attempts; last: {last}")


def _answer(body: bytes) -> dict[str, Any]:
    """PagerDuty's answer, bounded: only its small documented fields are kept (status, message, dedup_key)."""
    if len(body) > ANSWER_MAX_BYTES:
        return {"message": f"answer above {ANSWER_MAX_BYTES} bytes, not read"}
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {"message": body[:DETAIL_MAX].decode(errors="replace")}
    if not isinstance(parsed, dict):
        return {"message": str(parsed)[:DETAIL_MAX]}
    return {k: str(parsed[k])[:DETAIL_MAX] for k in ("status", "message", "dedup_key") if k in parsed}
