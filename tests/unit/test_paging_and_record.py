"""Pager (PagerDuty + SNS status updates in the runbook's template) and record (audit trail, page again)."""

import json

import pytest

from lambdas.diagnosis import ecs_service as diagnose
from lambdas.errors import InvalidInput, PagerDutyError, PagingFailed
from lambdas.logic.errors_text import explain
from lambdas.logic.record import record
from lambdas.models.steps import Outcome
from tests.unit.builders import (
    ALARM_AT,
    CPU_ALARM,
    NOW,
    OK_AT,
    ROUTING_KEY,
    SERVICE,
    TASKS_ALARM,
    alarm_event,
    create_service,
)

SUBJECT_TAIL = "] - Lecture Infrastructure Issue - Status Update"
CONTACT = "On-call engineer (see the PagerDuty rotation)"
IDENTIFIED_AT = "2026-11-26T09:12:33.123000+00:00"
INVALID_EVENT_ERROR = {
    "Error": "InvalidEvent",
    "Cause": json.dumps(
        {"errorMessage": "malformed alarm event: field 'detail.state': Field required", "errorType": "InvalidEvent"}
    ),
}


def template(incident: str, *, status: str, impact: str, next_update: str, identified_at: str, actions: str, eta: str) -> str:
    """The operations runbook's "Status Update Template", filled in."""
    return "\n".join(
        [
            f"Subject: [{incident}{SUBJECT_TAIL}",
            "",
            f"Current Status: {status}",
            f"Impact: {impact}",
            f"Next Update: {next_update}",
            "",
            "Details:",
            f"- Issue identified at: {identified_at}",
            "- Affected customers: dhbw",
            f"- Current actions: {actions}",
            f"- ETA: {eta}",
            "",
            f"Contact: {CONTACT}",
        ]
    )


# --- trigger / resolve -----------------------------------------------------------------------------------


def test_trigger_alarm_pages_with_severity_diagnosis_and_incident(world, ecs):
    # given a CPU alarm admitted for remediation, and the service's diagnosis
    create_service(ecs, desired=2)
    decision = world.admit(alarm_event("ALARM", "OK"))
    diagnosis = diagnose.ecs_service(ecs, world.config.ecs.cluster, SERVICE)
    # when
    result = world.pager.trigger_alarm(decision, diagnosis)
    # then PagerDuty accepted one trigger
    [sent] = world.pd.accepted
    assert sent["event_action"] == "trigger"
    assert sent["dedup_key"] == f"lecture-dhbw/{CPU_ALARM}" == result["dedup_key"]
    assert sent["routing_key"] == ROUTING_KEY
    payload = sent["payload"]
    assert payload["severity"] == "warning"  # P2
    assert payload["summary"].startswith("[P2] lecture-dhbw lecture-backend-service: ECS service CPU utilisation")
    assert payload["source"] == "lecture-dhbw/lecture-backend-service"
    assert payload["class"] == "cpu-high" and payload["group"] == "lecture-dhbw"
    details = payload["custom_details"]
    assert details["incident_id"] == decision.incident_id
    assert details["priority"] == "P2" and details["response_time"] == "4 hours"
    assert details["diagnosis"] == json.loads(json.dumps(diagnosis))
    assert details["diagnosis"]["desired"] == 2
    assert result["pagerduty"]["status"] == "success"


def test_trigger_alarm_publishes_the_runbooks_status_update(world):
    # given
    decision = world.admit(alarm_event("ALARM", "OK"))
    inc = decision.incident_id
    # when
    world.pager.trigger_alarm(decision, {"desired": 2, "running": 2})
    # then
    [update] = world.status_updates()
    assert update["Subject"] == f"[{inc}{SUBJECT_TAIL}"
    assert len(update["Subject"]) <= 100
    assert update["Message"] == template(
        inc,
        status="Identified",
        impact="Performance degradation: lectures may load slowly",
        next_update="2026-11-26 09:45 UTC",
        identified_at=IDENTIFIED_AT,
        actions="scale-ecs-service (enforce)",
        eta="automatic remediation running",
    )


def test_page_only_alarm_is_p1_error_and_investigating(world):
    # given
    decision = world.admit(alarm_event("ALARM", "OK", alarm=TASKS_ALARM))
    # when
    world.pager.trigger_alarm(decision, {})
    # then
    [sent] = world.pd.accepted
    assert sent["payload"]["severity"] == "error"  # P1
    assert sent["payload"]["summary"].startswith("[P1] ")
    [update] = world.status_updates()
    assert "Current Status: Investigating" in update["Message"].splitlines()
    assert "- ETA: awaiting on-call" in update["Message"].splitlines()


def test_resolve_sends_resolve_with_the_same_dedup_key(world):
    # given an alert that was triggered
    alarm = world.admit(alarm_event("ALARM", "OK", at=ALARM_AT))
    world.pager.trigger_alarm(alarm, {})
    world.status_updates()
    resolved = world.admit(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT))
    # when
    result = world.pager.resolve(resolved)
    # then
    trigger, resolve = world.pd.accepted
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": trigger["dedup_key"]}
    assert result["sent"] == "resolve"
    [update] = world.status_updates()
    assert update["Subject"] == f"[{alarm.incident_id}{SUBJECT_TAIL}"
    lines = update["Message"].splitlines()
    assert "Current Status: Resolved" in lines
    assert "Next Update: none planned (resolved)" in lines
    assert "- ETA: resolved" in lines


def test_resolved_status_update_keeps_the_time_the_issue_was_identified(world):
    # given an alarm identified at 09:12:33 that cleared at 09:31:05
    world.admit(alarm_event("ALARM", "OK", at=ALARM_AT))
    resolved = world.admit(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT))
    # when
    world.pager.resolve(resolved)
    # then
    [update] = world.status_updates()
    assert f"- Issue identified at: {IDENTIFIED_AT}" in update["Message"].splitlines()


def test_automation_failed_pages_with_the_error_name_and_message(world):
    # given the respond workflow caught admit's InvalidEvent
    state = {"id": "6a7e8feb-b491", "error": INVALID_EVENT_ERROR}
    # when
    result = world.pager.automation_failed(state, execution="exec-42")
    # then
    [sent] = world.pd.accepted
    summary = sent["payload"]["summary"]
    assert "InvalidEvent" in summary
    assert "malformed alarm event: field 'detail.state': Field required" in summary
    assert summary.startswith("[P1] lecture-dhbw automation failed: ")
    assert sent["payload"]["severity"] == "error"
    # keyed by the event, not the execution: a redelivery of the same bad event meets the same alert
    assert sent["dedup_key"] == "lecture-dhbw/automation/event-6a7e8feb-b491" == result["dedup_key"]
    assert sent["payload"]["custom_details"]["error"] == "InvalidEvent"
    [update] = world.status_updates()
    assert update["Message"] == template(
        "dhbw-automation-exec-42",
        status="Investigating",
        impact="unknown: the automation failed",
        next_update="2026-11-26 09:45 UTC",
        identified_at=NOW.isoformat(),
        actions="automation failed (InvalidEvent): malformed alarm event: field 'detail.state': Field required",
        eta="on-call to act",
    )


def test_automation_failed_still_publishes_the_status_update_when_pagerduty_is_down(world):
    # given
    world.pd.fail_next(503, 3)
    # when
    with pytest.raises(PagerDutyError):
        world.pager.automation_failed({"error": INVALID_EVENT_ERROR}, execution="exec-42")
    # then subscribers hear of it even though the page could not be sent
    assert world.pd.accepted == [] and len(world.pd.requests) == 3
    [update, fallback] = world.status_updates()
    assert (
        "- Current actions: automation failed (InvalidEvent): malformed alarm event: field 'detail.state': "
        "Field required" in update["Message"].splitlines()
    )
    # and a page saying PagerDuty failed follows, with the summary that could not be sent
    assert fallback["Attributes"]["kind"] == "page-fallback"
    assert "Summary: [P1] lecture-dhbw automation failed: InvalidEvent" in fallback["Message"]


def test_automation_failed_after_admit_pages_on_the_alarms_own_alert(world):
    # given a runbook execution that failed after admit had opened the incident
    decision = world.admit(alarm_event("ALARM", "OK"))
    child_cause = json.dumps(
        {
            "Error": "ResourceNotFound",
            "Cause": json.dumps(
                {
                    "errorType": "ResourceNotFound",
                    "errorMessage": "service lecture-backend-service not found in cluster lecture-dhbw-cluster",
                }
            ),
        }
    )
    state = {"admit": decision.to_json(), "error": {"Error": "States.TaskFailed", "Cause": child_cause}}
    # when
    world.pager.automation_failed(state, execution="exec-7")
    # then
    [sent] = world.pd.accepted
    assert sent["dedup_key"] == decision.dedup_key
    assert "ResourceNotFound: service lecture-backend-service not found" in sent["payload"]["summary"]
    assert sent["payload"]["custom_details"]["incident_id"] == decision.incident_id


def test_status_subject_stays_within_snss_100_characters_for_a_long_incident_id(world):
    # given an execution name of Step Functions' maximum length (80)
    execution = "e" * 80
    # when
    world.pager.automation_failed({"error": INVALID_EVENT_ERROR}, execution=execution)
    # then
    [update] = world.status_updates()
    assert len(update["Subject"]) == 100
    assert update["Subject"].startswith(f"[dhbw-automation-{execution}")
    assert update["Subject"].endswith("...")


def test_no_topic_means_no_status_update_but_the_page_is_sent(world):
    # given
    world.pager.topic_arn = ""
    decision = world.admit(alarm_event("ALARM", "OK"))
    # when
    world.pager.trigger_alarm(decision, {})
    # then
    assert len(world.pd.accepted) == 1
    assert world.status_updates() == []


# --- record ----------------------------------------------------------------------------------------------


def remediation(outcome: str, message: str) -> dict:
    """What the respond workflow's Run step stores under $.remediation (sync:2, Output as an object)."""
    return {
        "Output": {"runbook": "scale-ecs-service", "service": SERVICE, "outcome": outcome, "message": message},
        "Status": "SUCCEEDED",
        "ExecutionArn": "arn:aws:states:eu-central-1:111111111111:execution:x:y",
    }


def test_refused_outcome_pages_again_and_is_audited(world):
    # given the runbook refused: the service is at its maximum
    decision = world.admit(alarm_event("ALARM", "OK"))
    world.pager.trigger_alarm(decision, {})
    world.status_updates()
    message = "service lecture-backend-service is already at its maximum of 6 tasks"
    state = {"admit": decision.to_json(), "remediation": remediation("refused", message)}
    # when
    result = record(state, store=world.store, pager=world.pager, execution="exec-1")
    # then a second trigger on the same alert tells the on-call to act
    first, again = world.pd.accepted
    assert again["event_action"] == "trigger"
    assert again["dedup_key"] == first["dedup_key"]
    assert f"automation refused - {message}" in again["payload"]["summary"]
    assert result.paged is True and result.outcome == "refused"
    # and the audit trail has the outcome
    [row] = world.store.audit_trail(decision.incident_id)
    assert row["step"] == "record"
    assert row["outcome"] == "refused" and row["decision"] == "remediate"
    assert row["runbook"] == "scale-ecs-service" and row["message"] == message
    assert row["execution"] == "exec-1" and row["paged"] == "true"
    # and the status update says a person must act
    [update] = world.status_updates()
    lines = update["Message"].splitlines()
    assert "Current Status: Identified" in lines
    assert f"- Current actions: {message}" in lines
    assert "- ETA: on-call to act" in lines


@pytest.mark.parametrize("outcome", ["timed_out", "unknown"])
def test_other_unsettled_outcomes_page_again(world, outcome):
    # given
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {"admit": decision.to_json(), "remediation": remediation(outcome, "it did not settle")}
    if outcome == "unknown":
        state["remediation"] = {"Output": {}}
    # when
    result = record(state, store=world.store, pager=world.pager, execution="exec-1")
    # then
    assert result.paged is True
    assert [e["event_action"] for e in world.pd.accepted] == ["trigger"]
    assert world.store.audit_trail(decision.incident_id)[0]["outcome"] == outcome


def test_refused_outcome_with_pagerduty_down_is_audited_then_fails_loudly(world):
    # given the runbook refused, and PagerDuty answers 500 to every attempt
    decision = world.admit(alarm_event("ALARM", "OK"))
    message = "service lecture-backend-service is already at its maximum of 6 tasks"
    state = {"admit": decision.to_json(), "remediation": remediation("refused", message)}
    world.pd.fail_next(500, 3)
    # when
    with pytest.raises(PagingFailed) as caught:
        record(state, store=world.store, pager=world.pager, execution="exec-1")
    # then the failure says which incident went unpaged and what the automation did
    text = str(caught.value)
    assert text.startswith(f"incident {decision.incident_id}: the page could not be sent (PagerDutyError: ")
    assert f"automation outcome: refused: {message}" in text
    assert [r["status"] for r in world.pd.requests] == [500, 500, 500]
    # and the audit row was written before failing
    [row] = world.store.audit_trail(decision.incident_id)
    assert row["outcome"] == "refused"
    assert row["page_error"].startswith("PagerDutyError: PagerDuty unavailable after 3 attempts")
    # and the status update still went out
    [update, fallback] = world.status_updates()
    assert "Current Status: Identified" in update["Message"].splitlines()
    # and the page that could not be sent went to the topic, marked as a fallback
    assert fallback["Attributes"] == {
        "customer": "dhbw",
        "severity": "P2",
        "status": "page-fallback",
        "team": "infrastructure",
        "kind": "page-fallback",
    }
    assert f"automation refused - {message}" in fallback["Message"]


def test_an_earlier_page_failure_is_audited_and_raised_after_a_good_outcome(world):
    # given the first page failed, the remediation still ran and scaled
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {
        "admit": decision.to_json(),
        "remediation": remediation("scaled", "scaled lecture-backend-service from 2 to 3"),
        "page_error": {"Error": "PagerDutyError", "Cause": "PagerDuty rejected the event (400): bad key"},
    }
    # when
    with pytest.raises(PagingFailed) as caught:
        record(state, store=world.store, pager=world.pager, execution="exec-1")
    # then
    assert "(PagerDutyError: PagerDuty rejected the event (400): bad key)" in str(caught.value)
    assert "automation outcome: scaled" in str(caught.value)
    [row] = world.store.audit_trail(decision.incident_id)
    assert row["outcome"] == "scaled"
    assert row["page_error"] == "PagerDutyError: PagerDuty rejected the event (400): bad key"
    # no page again: only the change event of the scale (a change notifies no one)
    assert [r["path"] for r in world.pd.requests] == ["/v2/change/enqueue"]


def test_scaled_outcome_does_not_page_but_publishes_monitoring_and_a_change_event(world):
    # given
    decision = world.admit(alarm_event("ALARM", "OK"))
    message = "scaled lecture-backend-service from 2 to 3 tasks; 3 of 3 running"
    state = {"admit": decision.to_json(), "remediation": remediation("scaled", message)}
    # when
    result = record(state, store=world.store, pager=world.pager, execution="exec-1")
    # then no page, only a change event on the service's timeline (accepted by the schema-checking fake)
    [change] = world.pd.requests
    assert change["path"] == "/v2/change/enqueue" and change["status"] == 202 and change["errors"] == []
    assert "event_action" not in change["body"] and change["body"]["routing_key"] == ROUTING_KEY
    payload = change["body"]["payload"]
    assert payload["summary"] == f"lecture-dhbw {SERVICE}: scale-ecs-service scaled - {message}"
    assert payload["custom_details"]["team"] == "infrastructure"
    assert payload["custom_details"]["incident_id"] == decision.incident_id
    assert result.paged is False and result.outcome == "scaled" and result.change_event is True
    [update] = world.status_updates()
    assert update["Message"] == template(
        decision.incident_id,
        status="Monitoring",
        impact="Performance degradation: lectures may load slowly",
        next_update="2026-11-26 09:45 UTC",
        identified_at=IDENTIFIED_AT,
        actions=message,
        eta="monitoring until the alarm clears",
    )
    [row] = world.store.audit_trail(decision.incident_id)
    assert row["outcome"] == "scaled" and row["paged"] == "false"


def test_would_scale_in_dry_run_does_not_page(world):
    # given
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {"admit": decision.to_json(), "remediation": remediation("would_scale", "dry-run: would scale ...")}
    # when
    result = record(state, store=world.store, pager=world.pager, execution="exec-1")
    # then
    assert world.pd.requests == []
    assert result.paged is False
    assert "Current Status: Monitoring" in world.status_updates()[0]["Message"].splitlines()


def test_failed_execution_is_audited_with_the_error_name(world):
    # given the workflow failed before admit produced a decision
    state = {"error": INVALID_EVENT_ERROR, "page": {"sent": "trigger"}}
    # when
    result = record(state, store=world.store, pager=world.pager, execution="exec-9", failed=True)
    # then
    assert result.outcome == "failed" and result.error == "InvalidEvent"
    [row] = world.store.audit_trail("execution-exec-9")
    assert row["outcome"] == "failed"
    assert row["error"] == "InvalidEvent"
    assert row["message"] == "malformed alarm event: field 'detail.state': Field required"
    assert row["decision"] == "rejected" and row["execution"] == "exec-9"
    assert world.pd.requests == []  # PageAutomationFailed already paged; record only writes


@pytest.mark.parametrize(
    "admit_given", [None, "remediate", {"decision": "remediate", "alarm": CPU_ALARM}], ids=["missing", "text", "partial"]
)
def test_record_without_admits_decision_says_so_and_writes_nothing(world, admit_given):
    # given a state whose decision is missing or not admit's (e.g. a direct invoke)
    state = {"admit": admit_given, "remediation": remediation("scaled", "scaled")}
    # when
    with pytest.raises(InvalidInput) as caught:
        record(state, store=world.store, pager=world.pager, execution="exec-x")
    # then it names what is wrong, and neither audits nor pages
    assert str(caught.value).startswith("record: admit's decision")
    assert world.table.scan()["Items"] == []
    assert world.pd.requests == []


def test_failed_execution_after_admit_is_audited_under_the_incident(world):
    # given
    decision = world.admit(alarm_event("ALARM", "OK"))
    state = {"admit": decision.to_json(), "error": {"Error": "States.Timeout", "Cause": "execution timed out"}}
    # when
    record(state, store=world.store, pager=world.pager, execution="exec-3", failed=True)
    # then
    [row] = world.store.audit_trail(decision.incident_id)
    assert row["outcome"] == "failed" and row["error"] == "States.Timeout"
    assert row["message"] == "execution timed out"
    assert row["decision"] == "remediate" and row["alarm"] == CPU_ALARM


@pytest.mark.parametrize(
    "event, decision, outcome",
    [
        pytest.param(alarm_event("ALARM", "OK", alarm=TASKS_ALARM), "page", "paged", id="page"),
        pytest.param(alarm_event("INSUFFICIENT_DATA", "OK"), "ignore", "ignore", id="ignore"),
    ],
)
def test_decisions_without_a_runbook_are_audited_without_paging_again(world, event, decision, outcome):
    # given
    admitted = world.admit(event)
    # when
    result = record({"admit": admitted.to_json()}, store=world.store, pager=world.pager, execution="exec-5")
    # then
    assert result.decision == decision and result.outcome == outcome
    [row] = world.store.audit_trail(admitted.incident_id)
    assert row["outcome"] == outcome and row["message"] == admitted.note
    assert world.pd.requests == []
    assert world.status_updates() == []


def test_resolve_decision_is_audited_as_resolved_without_another_page(world):
    # given the alarm fired and cleared; the Resolve step has already sent the resolve
    world.admit(alarm_event("ALARM", "OK", at=ALARM_AT))
    resolved = world.admit(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT))
    # when
    result = record({"admit": resolved.to_json()}, store=world.store, pager=world.pager, execution="exec-6")
    # then
    assert result.outcome == "resolved"
    [row] = world.store.audit_trail(resolved.incident_id)
    assert row["decision"] == "resolve" and row["outcome"] == "resolved"
    assert world.pd.requests == []


# --- errors_text.explain: what the page says about a Step Functions error ---------------------------


@pytest.mark.parametrize(
    "error, expected",
    [
        pytest.param(
            INVALID_EVENT_ERROR,
            ("InvalidEvent", "malformed alarm event: field 'detail.state': Field required"),
            id="lambda-error",
        ),
        pytest.param(
            {
                "Error": "States.TaskFailed",
                "Cause": json.dumps({"errorType": "InvalidInput", "errorMessage": "scale-ecs-service: unknown step 'x'"}),
            },
            ("InvalidInput", "scale-ecs-service: unknown step 'x'"),
            id="error-type-wins-over-the-states-name",
        ),
        pytest.param(
            {
                "Error": "RunbookFailed",
                "Cause": json.dumps(
                    {
                        "Error": "ResourceNotFound",
                        "Cause": json.dumps(
                            {"errorType": "ResourceNotFound", "errorMessage": "service s not found in cluster c"}
                        ),
                    }
                ),
            },
            ("ResourceNotFound", "service s not found in cluster c"),
            id="child-execution",
        ),
        pytest.param(
            {"Error": "States.Timeout", "Cause": "execution timed out"},
            ("States.Timeout", "execution timed out"),
            id="plain-text-cause",
        ),
        pytest.param({"Error": "States.Runtime"}, ("States.Runtime", "no cause given"), id="no-cause"),
        pytest.param(None, ("Unknown", "the workflow failed without an error description"), id="none"),
    ],
)
def test_explain_unwraps_step_functions_errors(error, expected):
    # when / then
    assert explain(error) == expected


# --- issue 5: redelivered bad events, late pages after an OK, the floor in the resolve update ----------------
def test_automation_failed_for_one_bad_event_redelivered_keeps_one_dedup_key(world):
    bad = alarm_event("ALARM", "OK", event_id="3f1c-redelivered")
    del bad["detail"]["state"]
    keys = {
        world.pager.automation_failed({**bad, "error": INVALID_EVENT_ERROR}, execution=f"exec-{i}")["dedup_key"] for i in range(5)
    }
    assert keys == {"lecture-dhbw/automation/event-3f1c-redelivered"}
    # an event without a usable id is keyed by its content: the same for every redelivery, others differ
    no_id = {k: v for k, v in bad.items() if k != "id"}
    first = world.pager.automation_failed({**no_id, "error": INVALID_EVENT_ERROR}, execution="exec-a")["dedup_key"]
    again = world.pager.automation_failed({**no_id, "error": INVALID_EVENT_ERROR}, execution="exec-b")["dedup_key"]
    other = world.pager.automation_failed({"id": "x" * 500, "error": INVALID_EVENT_ERROR}, execution="c")["dedup_key"]
    assert first == again != other and len(other) < 100


def test_late_needs_a_person_page_after_an_ok_resolved_sends_only_a_status_update(world):
    # given execution A remediates; its runbook is still verifying (minutes)
    decision = world.admit(alarm_event("ALARM", "OK", at=ALARM_AT))
    world.pager.trigger_alarm(decision, {})
    # when execution B handles the OK and resolves the alert
    resolved = world.admit(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT, event_id="ok"))
    world.pager.resolve(resolved)
    world.status_updates()
    # and then A's runbook times out, and A records it
    state = {"admit": decision.to_json(), "remediation": remediation("timed_out", "it did not settle")}
    result = record(state, store=world.store, pager=world.pager, execution="exec-A")
    # then the resolved alert is not reopened: no trigger after the resolve
    assert [e["event_action"] for e in world.pd.accepted] == ["trigger", "resolve"]
    assert result.paged is False and "resolved meanwhile" in result.message
    [update] = world.status_updates()
    assert "Current Status: Resolved" in update["Message"] and "not paged again" in update["Message"]
    assert world.store.audit_trail(decision.incident_id)[0]["outcome"] == "timed_out"


def test_needs_a_person_page_while_the_incident_is_still_open_is_sent(world):
    decision = world.admit(alarm_event("ALARM", "OK", at=ALARM_AT))
    state = {"admit": decision.to_json(), "remediation": remediation("timed_out", "it did not settle")}
    result = record(state, store=world.store, pager=world.pager, execution="exec-A")
    assert result.paged is True and [e["event_action"] for e in world.pd.accepted] == ["trigger"]


def test_resolve_status_update_says_when_the_floor_goes_back(world):
    world.admit(alarm_event("ALARM", "OK", at=ALARM_AT))
    resolved = world.admit(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT, event_id="ok"))
    restore = {
        "due": True,
        "at": "2026-11-26T09:36:05Z",
        "floor": 2,
        "current": 3,
        "message": "the autoscaling floor (MinCapacity) of lecture-backend-service is 3; it goes back to 2 "
        "at 2026-11-26T09:36:05Z",
    }
    world.pager.resolve(resolved, Outcome.model_validate(restore))
    [update] = world.status_updates()
    assert "Current Status: Resolved" in update["Message"]
    assert "it goes back to 2 at 2026-11-26T09:36:05Z" in update["Message"]
    restored = {"restored": True, "message": "autoscaling floor (MinCapacity) of lecture-backend-service put back from 3 to 2"}
    result = record({"admit": resolved.to_json(), "restore": restored}, store=world.store, pager=world.pager, execution="e")
    assert result.outcome == "resolved" and "put back from 3 to 2" in result.message
