"""Escalation: one step up the runbook's matrix when the runbook failed or timed out, and when the alarm is still
in ALARM a while after the runbook succeeded (respond re-checks it and asks page to escalate)."""

import pytest

from catalog import Severity
from lambdas.logic.record import record
from tests.unit.builders import alarm_event

SCALED = "scaled lecture-backend-service from 2 to 3 tasks; 3 of 3 running"


def remediation(outcome: str, message: str) -> dict:
    return {"Output": {"runbook": "scale-ecs-service", "outcome": outcome, "message": message}, "Status": "SUCCEEDED"}


@pytest.mark.parametrize("sev, up", [("P3", "P2"), ("P2", "P1"), ("P1", "P0"), ("P0", "P0")])
def test_one_step_up_the_matrix(sev, up):
    assert Severity(sev).escalated == Severity(up)


def test_a_runbook_that_timed_out_is_paged_one_step_up_on_the_same_alert(world):
    decision = world.admit(alarm_event("ALARM", "OK"))  # cpu-high: P2
    state = {"admit": decision.to_json(), "remediation": remediation("timed_out", "2 of 3 running")}
    result = record(state, store=world.store, pager=world.pager, execution="exec-1")
    [page] = world.pd.accepted
    assert result.paged is True and not result.recheck
    assert page["dedup_key"] == decision.dedup_key and page["payload"]["severity"] == "error"  # P1
    assert page["payload"]["summary"].startswith(
        "[P1] lecture-dhbw lecture-backend-service: automation timed_out (escalated from P2: the runbook ended timed_out)"
    )
    assert page["payload"]["custom_details"]["escalated_from"] == "P2"


def test_a_refusal_is_paged_again_at_its_own_severity(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {"admit": decision.to_json(), "remediation": remediation("refused", "at its maximum of 6 tasks")}
    record(state, store=world.store, pager=world.pager, execution="exec-1")
    [page] = world.pd.accepted
    assert page["payload"]["severity"] == "warning" and "escalated" not in page["payload"]["summary"]


def test_a_runbook_that_succeeded_asks_respond_to_look_at_the_alarm_again(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {"admit": decision.to_json(), "remediation": remediation("scaled", SCALED)}
    result = record(state, store=world.store, pager=world.pager, execution="exec-1")
    assert result.recheck is True
    assert [p.get("event_action") for p in world.pd.accepted] == [None]  # the change event, no page


@pytest.mark.parametrize("outcome", ["would_scale", "noop"])
def test_nothing_done_means_nothing_to_look_at_again(world, outcome):
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {"admit": decision.to_json(), "remediation": remediation(outcome, "nothing changed")}
    assert record(state, store=world.store, pager=world.pager, execution="exec-1").recheck is None


def test_no_recheck_once_the_alarm_was_resolved(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    world.admit(alarm_event("OK", "ALARM", at="2026-11-26T09:31:05.456+0000"))  # the OK closes the incident
    state = {"admit": decision.to_json(), "remediation": remediation("scaled", SCALED)}
    assert record(state, store=world.store, pager=world.pager, execution="exec-1").recheck is None


def test_still_in_alarm_after_the_recheck_pages_p1_saying_why(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    world.status_updates()
    sent = world.pager.escalate(decision, alarm_state="ALARM", minutes=15, done=SCALED)
    [page] = world.pd.accepted
    assert sent["escalated_to"] == "P1" and page["dedup_key"] == decision.dedup_key
    assert page["event_action"] == "trigger" and page["payload"]["severity"] == "error"
    assert page["payload"]["summary"] == (
        "[P1] lecture-dhbw lecture-backend-service: escalated from P2 to P1: "
        "lecture-dhbw-lecture-backend-service-cpu-high is still ALARM 15 min after scale-ecs-service succeeded "
        f"({SCALED})"
    )
    [update] = world.status_updates()
    assert "Current Status: Identified" in update["Message"] and "escalated from P2 to P1" in update["Message"]
