"""FakePagerDuty: a real HTTP server validating events against the carried OpenAPI spec."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import jsonschema
import pytest

import sandbox.pagerduty as pagerduty_module
from sandbox.pagerduty import MAX_BODY_BYTES, SCHEMA_PATH, FakePagerDuty

SPEC = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
SUCCESS_SCHEMA = SPEC["components"]["responses"]["Success"]["content"]["application/json"]["schema"]
ERROR_SCHEMA = SPEC["components"]["responses"]["Error"]["content"]["application/json"]["schema"]
SPEC_EXAMPLE = SPEC["paths"]["/enqueue"]["post"]["requestBody"]["content"]["application/json"]["examples"]["event"]["value"]

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"


def post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def trigger(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "remediation/i-0abc/cpu",
        "payload": {"summary": "CPU at 99% on i-0abc", "source": "i-0abc", "severity": "critical"},
    }
    event.update(overrides)
    return event


@pytest.fixture
def pd():
    with FakePagerDuty() as server:
        yield server


def test_valid_trigger_is_accepted_and_dedup_key_echoed(pd):
    # given
    event = trigger()
    # when
    status, answer = post(pd.events_url, event)
    # then
    assert status == 202
    assert answer == {"status": "success", "message": "Event processed", "dedup_key": "remediation/i-0abc/cpu"}
    jsonschema.validate(answer, SUCCESS_SCHEMA)
    assert pd.accepted == [event]
    [request] = pd.requests
    assert isinstance(request.pop("at"), float)  # when it arrived (time.monotonic(): the bench's timings)
    assert request == {"path": "/v2/enqueue", "status": 202, "body": event, "errors": []}


def test_the_specs_own_example_event_is_accepted(pd):
    # given the example body shipped in the OpenAPI document
    # when
    status, answer = post(pd.events_url, SPEC_EXAMPLE)
    # then
    assert status == 202
    assert answer["dedup_key"] == SPEC_EXAMPLE["dedup_key"]


def test_trigger_without_dedup_key_gets_a_generated_one(pd):
    # given
    event = trigger()
    del event["dedup_key"]
    # when
    first_status, first = post(pd.events_url, event)
    second_status, second = post(pd.events_url, event)
    # then
    assert first_status == second_status == 202
    assert isinstance(first["dedup_key"], str) and first["dedup_key"]
    assert first["dedup_key"] != second["dedup_key"]
    assert pd.accepted == [event, event]  # recorded as sent, without the generated key


def test_resolve_with_dedup_key_is_accepted(pd):
    # given
    event = {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "remediation/i-0abc/cpu"}
    # when
    status, answer = post(pd.events_url, event)
    # then
    assert status == 202
    assert answer["dedup_key"] == "remediation/i-0abc/cpu"
    assert pd.accepted == [event]


def test_resolve_without_dedup_key_is_rejected(pd):
    # given (the spec: dedup_key "Required unless the event_type is trigger")
    event = {"routing_key": ROUTING_KEY, "event_action": "resolve"}
    # when
    status, answer = post(pd.events_url, event)
    # then
    assert status == 400
    assert any("dedup_key" in message for message in answer["errors"])
    assert pd.accepted == []


def test_trigger_missing_payload_severity_is_rejected_naming_the_field(pd):
    # given
    event = trigger()
    del event["payload"]["severity"]
    # when
    status, answer = post(pd.events_url, event)
    # then
    assert status == 400
    assert answer["status"] == "invalid event"
    assert answer["message"] == "Event object is invalid"
    assert any("payload.severity" in message for message in answer["errors"])
    jsonschema.validate(answer, ERROR_SCHEMA)
    assert pd.accepted == []
    [recorded] = pd.requests
    assert recorded["status"] == 400
    assert recorded["body"] == event
    assert recorded["errors"] == answer["errors"]


def test_invalid_severity_value_is_rejected(pd):
    # given
    event = trigger(payload={"summary": "s", "source": "i-0abc", "severity": "urgent"})
    # when
    status, answer = post(pd.events_url, event)
    # then
    assert status == 400
    assert any("payload.severity" in m and "urgent" in m for m in answer["errors"])
    assert pd.accepted == []


def test_invalid_event_action_is_rejected(pd):
    # given
    event = trigger(event_action="escalate")
    # when
    status, answer = post(pd.events_url, event)
    # then
    assert status == 400
    assert any("event_action" in m and "escalate" in m for m in answer["errors"])
    assert pd.accepted == []


def test_body_that_is_not_json_is_rejected(pd):
    # given
    body = b"{not json"
    # when
    status, answer = post(pd.events_url, body)
    # then
    assert status == 400
    assert answer["status"] == "invalid event"
    assert pd.requests[0]["body"] == "{not json"


def test_change_events_are_validated_against_the_carried_spec(pd):
    # given: the carried OpenAPI document (copied from the reference) defines /change/enqueue
    assert list(SPEC["paths"]) == ["/enqueue", "/change/enqueue"]
    change = {
        "routing_key": ROUTING_KEY,
        "payload": {"summary": "scaled lecture-backend-service from 2 to 3"},
        "links": [{"href": "https://eu-central-1.console.aws.amazon.com/ecs/", "text": "service"}],
    }
    bad = {"routing_key": ROUTING_KEY, "payload": {"summary": "x", "severity": "error"}}  # no severity there
    # when
    status, answer = post(pd.change_url, change)
    bad_status, bad_answer = post(pd.change_url, bad)
    # then
    assert pd.change_url.endswith("/v2/change/enqueue")
    assert status == 202 and answer["status"] == "success" and "dedup_key" not in answer
    assert bad_status == 400 and any("payload" in e for e in bad_answer["errors"])
    assert pd.accepted == [change]


def test_change_events_are_validated_once_the_spec_defines_the_path(tmp_path, monkeypatch):
    # given a copy of the spec extended with a (test-only) change-events path
    spec = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    spec["paths"]["/change/enqueue"] = {
        "post": {
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["routing_key", "payload"],
                            "properties": {"routing_key": {"type": "string"}},
                        }
                    }
                }
            }
        }
    }
    extended = tmp_path / "extended.openapi.json"
    extended.write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setattr(pagerduty_module, "SCHEMA_PATH", extended)
    change = {"routing_key": ROUTING_KEY, "payload": {"summary": "Deployed remediation v2"}}
    with FakePagerDuty() as pd:
        # when
        ok_status, ok = post(pd.change_url, change)
        bad_status, bad = post(pd.change_url, {"payload": {}})
        # then
        assert ok_status == 202
        assert ok == {"status": "success", "message": "Event processed"}
        assert bad_status == 400
        assert any("routing_key" in m for m in bad["errors"])
        assert pd.accepted == [change]


def test_body_above_512_kb_is_rejected_and_one_at_the_limit_accepted(pd):
    # given two valid events padded to exactly the limit and one byte above it
    def padded(size: int) -> bytes:
        event = trigger()
        event["payload"]["custom_details"] = {"pad": ""}
        overhead = len(json.dumps(event).encode("utf-8"))
        event["payload"]["custom_details"]["pad"] = "x" * (size - overhead)
        data = json.dumps(event).encode("utf-8")
        assert len(data) == size
        return data

    # when
    at_limit_status, _ = post(pd.events_url, padded(MAX_BODY_BYTES))
    above_status, above = post(pd.events_url, padded(MAX_BODY_BYTES + 1))
    # then
    assert at_limit_status == 202
    assert above_status == 400
    assert above["status"] == "invalid event"
    assert any("512 KB" in m for m in above["errors"])
    assert len(pd.accepted) == 1
    assert [r["status"] for r in pd.requests] == [202, 400]


def test_fail_next_429_then_the_retry_succeeds(pd):
    # given
    pd.fail_next(429)
    event = trigger()
    # when
    first_status, first = post(pd.events_url, event)
    retry_status, retry = post(pd.events_url, event)
    # then
    assert first_status == 429
    jsonschema.validate(first, ERROR_SCHEMA)
    assert retry_status == 202
    assert retry["dedup_key"] == event["dedup_key"]
    assert [r["status"] for r in pd.requests] == [429, 202]
    assert pd.requests[0]["body"] == event
    assert pd.accepted == [event]


def test_fail_next_500_several_times(pd):
    # given
    pd.fail_next(500, times=2)
    # when
    statuses = [post(pd.events_url, trigger())[0] for _ in range(3)]
    # then
    assert statuses == [500, 500, 202]
    assert len(pd.accepted) == 1


@pytest.mark.parametrize("status, times", [(200, 1), (202, 1), (429, 0), (True, 1)])
def test_fail_next_rejects_non_failure_arguments(pd, status, times):
    with pytest.raises(ValueError):
        pd.fail_next(status, times)


def test_unknown_path_answers_404(pd):
    # given
    url = pd.events_url.replace("/v2/enqueue", "/v1/enqueue")
    # when
    status, answer = post(url, trigger())
    # then
    assert status == 404
    assert pd.requests[0]["path"] == "/v1/enqueue"
    assert pd.requests[0]["status"] == 404
    assert pd.accepted == []


def test_the_server_is_quiet(pd, capsys):
    # given / when: accepted, rejected and scripted-failure requests
    post(pd.events_url, trigger())
    post(pd.events_url, {"event_action": "trigger"})
    pd.fail_next(500)
    assert post(pd.events_url, trigger())[0] == 500
    # then nothing was printed by the server threads
    assert [r["status"] for r in pd.requests] == [202, 400, 500]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_start_stop_lifecycle():
    # given
    pd = FakePagerDuty().start()
    url = pd.events_url
    # when
    pd.stop()
    pd.stop()  # idempotent
    # then
    with pytest.raises(urllib.error.URLError):
        post(url, trigger())
    with pytest.raises(RuntimeError):
        _ = pd.events_url
