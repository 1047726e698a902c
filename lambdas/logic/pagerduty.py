"""PagerDuty Events API v2: build events and send them with bounded retries.

202 is success; 400 is never retried; 429 and 5xx (and network errors) are retried with backoff.
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


def trigger_event(routing_key: str, dedup_key: str, *, summary: str, source: str, severity: str,
                  timestamp: str | None = None, component: str | None = None, group: str | None = None,
                  event_class: str | None = None, custom_details: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"summary": summary[:SUMMARY_MAX], "source": source, "severity": severity}
    optional: dict[str, Any] = {"timestamp": timestamp, "component": component, "group": group, "class": event_class,
                "custom_details": custom_details}
    payload.update({k: v for k, v in optional.items() if v})
    return {"routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
            "client": CLIENT, "payload": payload}


def resolve_event(routing_key: str, dedup_key: str) -> dict[str, Any]:
    return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}


def send(event: dict[str, Any], url: str, *, attempts: int = 3, backoff_seconds: float = 1.0, timeout: float = 5.0,
         sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    body = json.dumps(event, default=str).encode()
    if len(body) > MAX_BYTES:
        raise PagerDutyError(f"event is {len(body)} bytes, above PagerDuty's limit of {MAX_BYTES}")
    last = ""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - URL is configuration
                                         headers={"Content-Type": "application/json"})
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
            sleep(backoff_seconds * 2 ** (attempt - 1))
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
