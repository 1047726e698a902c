"""The incident events admit and record emit (issue 16): what the customer's default bus receives (read through
an SQS target of a rule, as moto delivers it), and a failed emit reported, never raised."""

import json
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from catalog import naming
from lambdas.logic.incident_events import after_admit, after_record
from lambdas.logic.store import Store
from lambdas.models.steps import RecordResult
from tests.unit.builders import ALARM_AT, CPU_ALARM, NOW, OK_AT, TASKS_ALARM, alarm_event, all_items


@pytest.fixture
def bus(session):
    """A rule on the default bus (like the forwarding rule) with an SQS target: what the bus received."""
    events, sqs = session.client("events"), session.client("sqs")
    url = sqs.create_queue(QueueName="incident-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="forward",
        EventPattern=json.dumps({"source": [naming.INCIDENT_EVENT_SOURCE], "detail-type": [naming.INCIDENT_EVENT_DETAIL_TYPE]}),
    )
    events.put_targets(Rule="forward", Targets=[{"Id": "q", "Arn": arn}])

    class Bus:
        client = events

        def received(self) -> list[dict]:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"]) for m in got]

    return Bus()


def test_a_down_alarm_opens_an_incident_event_marked_down(world, bus):
    # given running-tasks-low, a "down" kind, goes to ALARM
    decision = world.admit(alarm_event("ALARM", "OK", alarm=TASKS_ALARM))
    # when
    problem = after_admit(decision, bus.client)
    # then the bus has the incident event, with what the ops account needs
    assert problem is None
    [event] = bus.received()
    assert (event["source"], event["detail-type"]) == (naming.INCIDENT_EVENT_SOURCE, naming.INCIDENT_EVENT_DETAIL_TYPE)
    assert event["detail"] == {
        "customer": "dhbw",
        "incident_id": decision.incident_id,
        "kind": "ecs_service/running-tasks-low",
        "severity": decision.severity,
        "resource": "lecture-backend-service",
        "state": "open",
        "time": "2026-11-26T09:12:33.123000Z",
        "down": True,
        "alarm": TASKS_ALARM,
        "mode": "enforce",
    }


def test_a_cpu_warning_is_not_down_and_its_ok_closes_it(world, bus):
    opened = world.admit(alarm_event("ALARM", "OK", alarm=CPU_ALARM))
    after_admit(opened, bus.client)
    closed = world.admit(alarm_event("OK", "ALARM", alarm=CPU_ALARM, at=OK_AT))
    after_admit(closed, bus.client)
    states = [(e["detail"]["state"], e["detail"]["down"], e["detail"]["incident_id"]) for e in bus.received()]
    assert states == [("open", False, opened.incident_id), ("closed", False, opened.incident_id)]


def test_a_duplicate_delivery_emits_nothing(world, bus):
    event = alarm_event("ALARM", "OK", alarm=TASKS_ALARM)
    after_admit(world.admit(event), bus.client)
    duplicate = world.admit(event)
    assert duplicate.decision == "duplicate"
    after_admit(duplicate, bus.client)
    assert len(bus.received()) == 1


def test_a_failed_emit_is_in_the_decisions_note_and_never_raised(world, bus):
    decision = world.admit(alarm_event("ALARM", "OK", alarm=TASKS_ALARM))
    with Stubber(bus.client) as stub:
        stub.add_client_error("put_events", "AccessDeniedException", "not authorized to perform events:PutEvents")
        problem = after_admit(decision, bus.client)
    assert problem and f"the ops account was not told of open incident {decision.incident_id}" in problem
    assert "AccessDeniedException" in problem
    assert decision.to_json()["note"].endswith(problem)  # record writes the note to the audit trail
    assert decision.decision == "page"  # the incident goes on (running-tasks-low pages only)


def test_a_refused_entry_is_reported(world, bus):
    decision = world.admit(alarm_event("ALARM", "OK", alarm=TASKS_ALARM))
    with Stubber(bus.client) as stub:
        stub.add_response(
            "put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}]}
        )
        problem = after_admit(decision, bus.client)
    assert problem and "EventBridge refused the event (ThrottlingException: slow down)" in problem


def test_record_settles_the_incident_with_the_runbooks_outcome(world, bus, table):
    decision = world.admit(alarm_event("ALARM", "OK", alarm=TASKS_ALARM))
    result = RecordResult(incident_id=decision.incident_id, decision="remediate", outcome="scaled", message="2 -> 3 tasks")
    at = datetime(2026, 11, 26, 9, 14, tzinfo=UTC)
    assert after_record({"admit": decision.to_json()}, result, events=bus.client, store=Store(table, NOW), now=at) is None
    [event] = bus.received()
    assert event["detail"]["state"] == "settled" and event["detail"]["outcome"] == "scaled"
    assert event["detail"]["time"] == "2026-11-26T09:14:00Z"


def test_a_failed_settle_emit_is_an_audit_row(world, bus, table):
    decision = world.admit(alarm_event("ALARM", "OK", alarm=TASKS_ALARM))
    result = RecordResult(incident_id=decision.incident_id, decision="remediate", outcome="scaled")
    with Stubber(bus.client) as stub:
        stub.add_client_error("put_events", "AccessDeniedException", "denied")
        problem = after_record({"admit": decision.to_json()}, result, events=bus.client, store=Store(table, NOW), now=NOW)
    assert problem
    [row] = [r for r in all_items(table) if r["pk"] == f"audit#{decision.incident_id}" and r.get("step") == "fleet"]
    assert row["outcome"] == "not-told" and "AccessDeniedException" in row["message"]


def test_a_scheduled_run_is_not_the_fleets(world, bus):
    from lambdas.models.steps import Decision

    run = Decision(
        customer="dhbw",
        alarm="lecture-dhbw-backup-terraform-state",
        kind="terraform_state",
        target="x",
        condition="schedule",
        state_timestamp=ALARM_AT,
        severity="P2",
        impact="",
        dedup_key="k",
        description="",
        decision="run",
        incident_id="dhbw-x",
    )
    assert after_admit(run, bus.client) is None
    assert bus.received() == []
