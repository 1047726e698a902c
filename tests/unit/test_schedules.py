"""Scheduled runs: a schedule rule's event goes through admit (claimed once), then the runbook, then record,
which stays quiet unless a person must act, and sends the runbook's own alerts (P3: status update only)."""

import dataclasses

import pytest

from catalog import RUNBOOKS
from catalog.runbooks import daily, every, scheduled_runs
from lambdas.errors import InvalidEvent
from lambdas.logic.record import record
from lambdas.runbooks import parse_input
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, REGION, SERVICE, all_items

RULE = "lecture-dhbw-scale-ecs-service"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{RULE}"


@pytest.fixture(autouse=True)
def scheduled(monkeypatch):
    """A runbook with a schedule (the data-protection runbooks declare theirs; this keeps the test about admit)."""
    rb = dataclasses.replace(RUNBOOKS["scale-ecs-service"], schedule=lambda c: every(60), schedule_input={"delta": 1})
    monkeypatch.setitem(RUNBOOKS, rb.name, rb)
    return rb


def scheduled_event(rule_arn: str = RULE_ARN, *, time: str = "2026-11-27T02:30:00Z", **changes) -> dict:
    """A "Scheduled Event" exactly as EventBridge delivers it to a schedule rule's target."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
        **changes,
    }


def test_schedule_expressions_come_from_the_config():
    assert daily("02:30") == "cron(30 2 * * ? *)" and daily("00:05") == "cron(5 0 * * ? *)"
    assert every(15) == "rate(15 minutes)" and every(1) == "rate(1 minute)"
    assert daily(None) is None and every(None) is None


def test_a_scheduled_event_runs_its_runbook_without_a_page(world):
    # when the rule's event arrives
    decision = world.admit(scheduled_event())
    # then the runbook runs, unpaged, with input it accepts
    assert decision.decision == "run" and decision.runbook == "scale-ecs-service"
    assert decision.alarm == RULE and decision.condition == "schedule" and decision.severity == "P2"
    assert decision.dedup_key == "lecture-dhbw/schedule/scale-ecs-service"
    assert decision.incident_id == "dhbw-20261127T023000Z-scale-ecs-service"
    assert decision.child_execution_name == decision.incident_id
    assert decision.runbook_input == {
        "service": SERVICE,
        "delta": 1,
        "mode": "enforce",
        "incident_id": decision.incident_id,
        "trigger": "schedule",
        "reason": f"schedule {RULE} (rate(60 minutes))",
    }
    parse_input(RUNBOOKS["scale-ecs-service"], decision.runbook_input)


def test_a_duplicate_delivery_of_a_firing_runs_once(world):
    first = world.admit(scheduled_event())
    again = world.admit(scheduled_event(id="another-delivery-id"))
    assert first.decision == "run"
    assert again.decision == "duplicate" and again.incident_id == first.incident_id
    # and the next firing runs again
    assert world.admit(scheduled_event(time="2026-11-27T03:30:00Z")).decision == "run"


def test_a_scheduled_run_while_the_automation_is_off_is_recorded_not_run(world):
    world.ssm.put_parameter(Name=MODE_PARAMETER, Value="off", Type="String", Overwrite=True)
    decision = world.admit(scheduled_event())
    assert decision.decision == "ignore" and "did not run" in decision.note


@pytest.mark.parametrize(
    "event, message",
    [
        (
            scheduled_event(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/lecture-edt-scale-ecs-service"),
            "schedule rule 'lecture-edt-scale-ecs-service' does not belong to customer dhbw; its schedules are: ",
        ),
        (scheduled_event(region="us-east-1"), "event from region us-east-1"),
        (scheduled_event(detail={"x": 1}), "malformed scheduled event: field 'detail'"),
        (scheduled_event(resources=[]), "malformed scheduled event: field 'resources'"),
    ],
)
def test_a_bad_scheduled_event_is_refused_and_claims_nothing(world, event, message):
    with pytest.raises(InvalidEvent) as err:
        world.admit(event)
    assert message in str(err.value)
    assert all_items(world.table) == []


def test_switched_off_schedules_create_no_rule(dhbw, monkeypatch, scheduled):
    before = set(scheduled_runs(dhbw))
    assert RULE in before
    monkeypatch.setitem(RUNBOOKS, scheduled.name, dataclasses.replace(scheduled, schedule=lambda c: every(None)))
    assert set(scheduled_runs(dhbw)) == before - {RULE}
    # the daily snapshot: on by default (02:00 UTC), off with schedules.rds_snapshot: null
    assert "lecture-dhbw-snapshot-rds-cluster" in scheduled_runs(dhbw)
    off = dhbw.model_copy(update={"schedules": dhbw.schedules.model_copy(update={"rds_snapshot": None})})
    assert "lecture-dhbw-snapshot-rds-cluster" not in scheduled_runs(off)


def _run_state(decision, outcome: dict) -> dict:
    return {"admit": decision.to_json(), "remediation": {"Output": outcome, "Status": "SUCCEEDED"}}


def test_a_scheduled_run_that_went_well_is_audited_and_quiet(world):
    decision = world.admit(scheduled_event())
    result = record(
        _run_state(decision, {"outcome": "scaled", "message": "scaled"}), store=world.store, pager=world.pager, execution="e1"
    )
    assert result.outcome == "scaled" and not result.paged
    # no alert and no status update: only the change event of the change it made (it notifies no one)
    assert [r.get("event_action") for r in world.pd.accepted] == [None] and world.status_updates() == []
    [row] = world.store.audit_trail(decision.incident_id)
    assert row["decision"] == "run" and row["outcome"] == "scaled"


def test_a_scheduled_run_that_needs_a_person_pages_on_the_schedules_alert(world):
    decision = world.admit(scheduled_event())
    result = record(
        _run_state(decision, {"outcome": "refused", "message": "at its maximum"}),
        store=world.store,
        pager=world.pager,
        execution="e1",
    )
    [page] = world.pd.accepted
    assert result.paged is True
    assert page["dedup_key"] == "lecture-dhbw/schedule/scale-ecs-service"
    assert page["payload"]["severity"] == "warning" and "automation refused - at its maximum" in page["payload"]["summary"]
    [update] = world.status_updates()
    assert "Current Status: Identified" in update["Message"]


def test_a_runbooks_alerts_page_p2_resolve_and_send_p3_as_a_status_update_only(world):
    decision = world.admit(scheduled_event())
    alerts = [
        {
            "key": "state-lock/abc",
            "severity": "P2",
            "summary": "stale lock abc",
            "details": {"command": "terraform force-unlock abc"},
        },
        {"key": "state-lock/old", "action": "resolve"},
        {"key": "state-versioning", "severity": "P3", "summary": "the state bucket has no versioning"},
    ]
    result = record(
        _run_state(decision, {"outcome": "scaled", "message": "ok", "alerts": alerts}),
        store=world.store,
        pager=world.pager,
        execution="e1",
    )
    trigger, resolve, change = world.pd.accepted  # then the change event of the "scaled" outcome
    assert "event_action" not in change
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "lecture-dhbw/state-lock/abc"
    assert trigger["payload"]["severity"] == "warning" and "stale lock abc" in trigger["payload"]["summary"]
    assert trigger["payload"]["custom_details"]["command"] == "terraform force-unlock abc"
    assert resolve == {**resolve, "event_action": "resolve", "dedup_key": "lecture-dhbw/state-lock/old"}
    # P3 never pages: one status update, read by the email list
    [update] = world.status_updates()
    assert "Impact: P3 (Next business day): the state bucket has no versioning" in update["Message"]
    assert result.alerts == ["trigger P2 state-lock/abc", "resolve P2 state-lock/old", "status-update P3 state-versioning"]
