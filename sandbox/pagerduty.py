"""Fake PagerDuty Events API v2 server for the sandbox and the tests.

A real HTTP server (``http.server.ThreadingHTTPServer`` on 127.0.0.1, ephemeral
port) that validates every event against the request-body schema of the
official OpenAPI document carried in ``sandbox/schemas``.  The schema is read
from that file (``$ref``s resolved with ``referencing``); it is not restated
here.

Routes are derived from the document: ``servers[0].url`` gives the base path
(``/v2``) and every ``paths`` entry with a JSON ``post`` request body becomes a
route (``/v2/enqueue``).  A path the document does not define answers 404.
The carried document defines ``/v2/change/enqueue`` (change events) too.
Replies can be scripted request by request (``script([429, 500, 202])``: 202
means "answer as PagerDuty would", so the event is validated then).

Usage::

    with FakePagerDuty() as pd:
        post(pd.events_url, event)
        assert pd.accepted == [event]
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = ["FakePagerDuty", "SCHEMA_PATH", "MAX_BODY_BYTES", "redirect_official_hosts"]

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "pagerduty-events-v2.openapi.json"

# PagerDuty documents a 512 KB limit for an event.  The carried spec does not
# name a status code for it, so it is rejected like any invalid event: 400.
MAX_BODY_BYTES = 512 * 1024

_SPEC_URI = "urn:pagerduty-events-v2-openapi"
_EVENTS_PATH = "/enqueue"
_CHANGE_PATH = "/change/enqueue"
_ACTIONS_NEEDING_DEDUP_KEY = ("acknowledge", "resolve")

_INVALID = {"status": "invalid event", "message": "Event object is invalid"}


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@functools.cache
def _load_spec(schema_path: str) -> tuple[str, dict[str, jsonschema.protocols.Validator]]:
    """Return (base path, {route: validator}) built from the OpenAPI document."""
    with open(schema_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    base_path = urlsplit(spec["servers"][0]["url"]).path.rstrip("/")
    # OpenAPI 3.0 schema objects are a JSON Schema draft 4/5 dialect.
    resource = Resource.from_contents(spec, default_specification=DRAFT4)
    registry = Registry().with_resource(_SPEC_URI, resource)
    validators: dict[str, jsonschema.protocols.Validator] = {}
    for path, item in spec.get("paths", {}).items():
        content = item.get("post", {}).get("requestBody", {}).get("content", {})
        if "schema" not in content.get("application/json", {}):
            continue
        pointer = "/".join(
            ["", "paths", _pointer_escape(path), "post", "requestBody", "content", _pointer_escape("application/json"), "schema"]
        )
        validators[base_path + path] = jsonschema.Draft4Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry)
    return base_path, validators


def _field_name(path: Any) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _readable_errors(validator: jsonschema.protocols.Validator, body: Any) -> list[str]:
    messages: list[str] = []
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        field = _field_name(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for prop in error.validator_value:
                if prop not in error.instance:
                    full = f"{field}.{prop}" if field else prop
                    message = f"'{full}' is missing"
                    if message not in messages:
                        messages.append(message)
            continue
        messages.append(f"'{field or 'event'}' is invalid: {error.message}")
    if not messages and isinstance(body, dict):
        # The spec states this in dedup_key's description rather than in the
        # JSON schema: "Required unless the event_type is trigger."
        action = body.get("event_action")
        if action in _ACTIONS_NEEDING_DEDUP_KEY and not body.get("dedup_key"):
            messages.append(f"'dedup_key' is missing (required when event_action is {action})")
    return messages


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen backlog; the stdlib default of 5 resets bursts of clients
    fake: FakePagerDuty


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakePagerDuty/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")

    def do_PUT(self) -> None:
        self.server.fake._handle(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.fake._handle(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.fake._handle(self, "DELETE")

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class FakePagerDuty:
    """Schema-checking fake of ``events.pagerduty.com`` served on 127.0.0.1."""

    def __init__(self) -> None:
        self._base_path, self._validators = _load_spec(str(SCHEMA_PATH))
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._accepted: list[Any] = []
        self._failures: list[int] = []
        self._script: list[int] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> FakePagerDuty:
        if self._server is not None:
            raise RuntimeError("FakePagerDuty is already running")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-pagerduty",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakePagerDuty:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakePagerDuty is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def events_url(self) -> str:
        return self.base_url + self._base_path + _EVENTS_PATH

    @property
    def change_url(self) -> str:
        return self.base_url + self._base_path + _CHANGE_PATH

    # -- recordings --------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request in arrival order: {"path", "status", "body", "errors"}."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def accepted(self) -> list[Any]:
        """Bodies answered with 2xx, exactly as sent."""
        with self._lock:
            return copy.deepcopy(self._accepted)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (4xx/5xx) without accepting them."""
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"status must be a 4xx or 5xx code, got {status!r}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a positive int, got {times!r}")
        with self._lock:
            self._failures.extend([status] * times)

    def script(self, responses: list[int]) -> None:
        """Answer the next requests, one each, with these statuses (2xx: handled as usual, validated); after
        the list runs out, as usual. Comes before ``fail_next``'s failures."""
        for status in responses:
            if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
                raise ValueError(f"each scripted response must be an HTTP status 200-599, got {status!r}")
        with self._lock:
            self._script.extend(responses)

    # -- request handling (server threads) ---------------------------------
    def _handle(self, handler: _Handler, method: str) -> None:
        path = urlsplit(handler.path).path
        data, read_error = self._read_body(handler)
        body, parsed = _parse_body(data)
        scripted = self._next_scripted()
        if scripted is not None:
            self._respond(handler, path, scripted, body, [], _scripted_body(scripted))
            return

        validator = self._validators.get(path)
        if validator is None:
            self._respond(
                handler, path, 404, body, [f"no such path: {path}"], {"status": "not found", "message": f"Path {path} not found"}
            )
            return
        if method != "POST":
            self._respond(
                handler,
                path,
                405,
                body,
                [f"method {method} not allowed"],
                {"status": "method not allowed", "message": "Only POST is supported"},
                {"Allow": "POST"},
            )
            return

        errors = _request_errors(validator, data, body, parsed=parsed, read_error=read_error)
        if errors:
            self._respond(handler, path, 400, body, errors, {**_INVALID, "errors": errors})
            return

        answer: dict[str, Any] = {"status": "success", "message": "Event processed"}
        if path == self._base_path + _EVENTS_PATH:
            answer["dedup_key"] = body.get("dedup_key") or uuid.uuid4().hex
        self._respond(handler, path, 202, body, [], answer, accepted=True)

    def _next_scripted(self) -> int | None:
        """The status the next request is answered with instead of as usual (``script``, then ``fail_next``)."""
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
            if scripted is not None and scripted < 300:
                scripted = None  # a scripted success: answered as usual
            elif scripted is None and self._failures:
                scripted = self._failures.pop(0)
        return scripted

    @staticmethod
    def _read_body(handler: _Handler) -> tuple[bytes, str | None]:
        header = handler.headers.get("Content-Length")
        if header is None:
            return b"", None
        try:
            length = int(header)
        except ValueError:
            length = -1
        if length < 0:
            return b"", f"invalid Content-Length header: {header!r}"
        return (handler.rfile.read(length) if length else b""), None

    def _respond(
        self,
        handler: _Handler,
        path: str,
        status: int,
        body: Any,
        errors: list[str],
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        accepted: bool = False,
    ) -> None:
        # Record before answering so a client that has its response can read it back.
        with self._lock:
            self._requests.append(
                {"path": path, "status": status, "body": copy.deepcopy(body), "errors": list(errors), "at": time.monotonic()}
            )
            if accepted:
                self._accepted.append(copy.deepcopy(body))
        handler.send_json(status, payload, headers)


def _parse_body(data: bytes) -> tuple[Any, bool]:
    """The request body as JSON, and whether it is; else its text (an oversized body is not parsed)."""
    if data and len(data) <= MAX_BODY_BYTES:
        try:
            return json.loads(data), True
        except ValueError:
            pass
    return data.decode("utf-8", errors="replace"), False


def _request_errors(
    validator: jsonschema.protocols.Validator, data: bytes, body: Any, *, parsed: bool, read_error: str | None
) -> list[str]:
    if read_error is not None:
        return [read_error]
    if len(data) > MAX_BODY_BYTES:
        return [f"event body is {len(data)} bytes; the limit is {MAX_BODY_BYTES} bytes (512 KB)"]
    if not parsed:
        return ["request body is not valid JSON"]
    return _readable_errors(validator, body)


def _scripted_body(status: int) -> dict[str, Any]:
    # Shape of the spec's Error response (status and message required).
    if status == 429:
        return {"status": "throttle event", "message": "Too many API calls at a time."}
    if status >= 500:
        return {"status": "error", "message": "An error occurred on a request."}
    return {**_INVALID, "errors": [f"scripted failure {status}"]}


def redirect_official_hosts(patches: Any, fake: FakePagerDuty) -> None:
    """Send requests for PagerDuty's own hosts to ``fake``, as moto does for AWS: the deployed template
    and the Lambda allow only PagerDuty's endpoints, and the sandbox needs no other URL.
    ``patches`` (sandbox.moto_gaps.Patches) undoes it when the sandbox stops."""
    import urllib.request

    from catalog.customer import PAGERDUTY_EVENTS_URLS

    hosts = {urlsplit(url).netloc for url in PAGERDUTY_EVENTS_URLS}
    original = urllib.request.urlopen

    def urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.netloc in hosts:
            target = fake.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
            if isinstance(request, urllib.request.Request):
                headers = dict(request.header_items())
                request = urllib.request.Request(target, data=request.data, method=request.get_method(), headers=headers)  # noqa: S310 - only https PagerDuty hosts, redirected to the fake
            else:
                request = target
        return original(request, *args, **kwargs)

    patches.set(urllib.request, "urlopen", urlopen)
