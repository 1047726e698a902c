"""lambdas.logic.pagerduty: events built to the Events v2 schema and sent with bounded retries.

Sent to FakePagerDuty, a real HTTP server validating against the official OpenAPI document."""

import socket
import urllib.request

import pytest

from lambdas.errors import PagerDutyError
from lambdas.logic.pagerduty import MAX_BYTES, resolve_event, send, trigger_event
from tests.unit.builders import ROUTING_KEY

DEDUP = "lecture-dhbw/lecture-dhbw-lecture-backend-service-cpu-high"


def cpu_trigger(**overrides) -> dict:
    fields = {
        "summary": "[P2] lecture-dhbw lecture-backend-service: ECS service CPU utilisation is high",
        "source": "lecture-dhbw/lecture-backend-service",
        "severity": "warning",
        "timestamp": "2026-11-26T09:12:33.123000+00:00",
        "component": "lecture-backend-service",
        "group": "lecture-dhbw",
        "event_class": "cpu-high",
        "custom_details": {"incident_id": "inc-1"},
    }
    fields.update(overrides)
    return trigger_event(ROUTING_KEY, DEDUP, **fields)


class Sleeps(list):
    """A sleep that only records how long it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def test_trigger_is_accepted_and_recorded_as_sent(pd, sleeps):
    # given
    event = cpu_trigger()
    # when
    answer = send(event, pd.events_url, sleep=sleeps)
    # then
    assert answer == {"status": "success", "message": "Event processed", "dedup_key": DEDUP}
    assert pd.accepted == [event]
    assert [r["status"] for r in pd.requests] == [202]
    sent = pd.accepted[0]
    assert sent["event_action"] == "trigger" and sent["routing_key"] == ROUTING_KEY
    assert sent["client"] == "lecture-remediation"
    assert sent["payload"]["class"] == "cpu-high"
    assert sleeps == []


def test_trigger_leaves_out_optional_fields_that_are_not_given(pd, sleeps):
    # given
    event = trigger_event(ROUTING_KEY, DEDUP, summary="s", source="src", severity="info")
    # when
    send(event, pd.events_url, sleep=sleeps)
    # then
    assert pd.accepted[0]["payload"] == {"summary": "s", "source": "src", "severity": "info"}


def test_summary_is_cut_to_pagerdutys_1024_characters(pd, sleeps):
    # given
    event = cpu_trigger(summary="x" * 5000)
    # when
    send(event, pd.events_url, sleep=sleeps)
    # then
    assert len(pd.accepted[0]["payload"]["summary"]) == 1024


def test_resolve_with_the_same_dedup_key_is_accepted(pd, sleeps):
    # given an open alert
    send(cpu_trigger(), pd.events_url, sleep=sleeps)
    # when
    answer = send(resolve_event(ROUTING_KEY, DEDUP), pd.events_url, sleep=sleeps)
    # then
    assert answer["dedup_key"] == DEDUP
    assert pd.accepted[1] == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": DEDUP}
    assert [r["status"] for r in pd.requests] == [202, 202]


def test_a_400_raises_and_is_not_retried(pd, sleeps):
    # given an event PagerDuty's schema rejects
    event = cpu_trigger(severity="urgent")
    # when
    with pytest.raises(PagerDutyError) as caught:
        send(event, pd.events_url, sleep=sleeps)
    # then
    assert len(pd.requests) == 1
    assert pd.accepted == []
    assert "rejected the event (400)" in str(caught.value)
    assert "payload.severity" in str(caught.value)  # PagerDuty's own explanation is kept
    assert sleeps == []


def test_another_4xx_raises_without_retry(pd, sleeps):
    # given
    pd.fail_next(403)
    # when
    with pytest.raises(PagerDutyError) as caught:
        send(cpu_trigger(), pd.events_url, sleep=sleeps)
    # then
    assert "answered 403" in str(caught.value)
    assert len(pd.requests) == 1 and sleeps == []


def test_a_429_is_retried_after_a_backoff_and_then_succeeds(pd, sleeps):
    # given
    pd.fail_next(429)
    event = cpu_trigger()
    # when
    answer = send(event, pd.events_url, sleep=sleeps)
    # then
    assert answer["status"] == "success"
    assert [r["status"] for r in pd.requests] == [429, 202]
    assert pd.accepted == [event]
    assert sleeps == [1.0]


def test_500_three_times_raises_after_exactly_three_attempts(pd, sleeps):
    # given
    pd.fail_next(500, 3)
    # when
    with pytest.raises(PagerDutyError) as caught:
        send(cpu_trigger(), pd.events_url, sleep=sleeps)
    # then
    assert [r["status"] for r in pd.requests] == [500, 500, 500]
    assert pd.accepted == []
    assert str(caught.value).startswith("PagerDuty unavailable after 3 attempts; last: 500")
    assert sleeps == [1.0, 2.0]  # exponential backoff between attempts, none after the last


def test_500_twice_then_success_uses_all_three_attempts(pd, sleeps):
    # given
    pd.fail_next(503, 2)
    # when
    send(cpu_trigger(), pd.events_url, sleep=sleeps)
    # then
    assert [r["status"] for r in pd.requests] == [503, 503, 202]
    assert len(pd.accepted) == 1


def test_an_event_above_512_kb_raises_before_sending(pd, sleeps):
    # given
    event = cpu_trigger(custom_details={"pad": "x" * MAX_BYTES})
    # when
    with pytest.raises(PagerDutyError) as caught:
        send(event, pd.events_url, sleep=sleeps)
    # then
    assert "above PagerDuty's limit of 524288" in str(caught.value)
    assert pd.requests == []


def test_unreachable_url_raises_after_three_attempts(sleeps, monkeypatch):
    # given a port nobody listens on, and every connection attempt counted
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v2/enqueue"
    attempts = []
    real_urlopen = urllib.request.urlopen

    def counting_urlopen(request, *args, **kwargs):
        attempts.append(request.full_url)
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counting_urlopen)
    # when
    with pytest.raises(PagerDutyError) as caught:
        send(cpu_trigger(), url, sleep=sleeps, timeout=1.0)
    # then
    message = str(caught.value)
    assert message.startswith("PagerDuty unavailable after 3 attempts")
    assert f"no answer from {url}" in message
    assert attempts == [url, url, url]
    assert sleeps == [1.0, 2.0]  # two waits between the three attempts


class _HugeAnswer:
    """An endpoint answering 202 with megabytes: records how much the client asked to read."""

    def __init__(self, body: bytes):
        self.body, self.asked = body, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, amount=None):
        self.asked.append(amount)
        return self.body if amount is None else self.body[:amount]


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "success", "message": "' + b"m" * 2_000_000 + b'", "dedup_key": "k"}',
        b'{"status": "success", "dedup_key": "k", "extra": "' + b"e" * 10_000 + b'"}',
    ],
)
def test_pagerdutys_answer_is_read_bounded_and_kept_small(monkeypatch, sleeps, body):
    from lambdas.logic import pagerduty

    answer = _HugeAnswer(body)
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout: answer)
    result = send(cpu_trigger(), "https://events.pagerduty.com/v2/enqueue", sleep=sleeps)
    assert answer.asked == [pagerduty.ANSWER_MAX_BYTES + 1]  # never more than 64 KB read
    assert len(str(result)) <= 600  # nothing unbounded goes into the execution's state
    assert "extra" not in result
