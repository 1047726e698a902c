"""Issue 5, section 2 in the sandbox: the last-resort notice and the mode switch's change notice."""

import copy

from tests.e2e.conftest import executions
from tests.e2e.test_bad_input import GOOD_EVENT, audit_rows


def test_when_the_failure_page_itself_fails_step_functions_notifies_the_topic(run_scenario):
    # given PagerDuty down, and an event that makes admit fail
    event = copy.deepcopy(GOOD_EVENT)
    del event["detail"]["state"]
    report = run_scenario({"world": {"pagerduty": {"fail_status": 503}}, "steps": [{"event": event}]})
    # then the "automation failed" page was tried (3 attempts) and the page Lambda failed
    assert len(report["pages"]) == 3
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and respond["error"] == "AutomationFailed"
    # and the last resort, published by Step Functions itself, reached the status topic
    [notice] = [n for n in report["notifications"] if "its page could not be sent" in n["message"]]
    assert notice["subject"] == "[lecture-dhbw] - Lecture Infrastructure Issue - Status Update"
    assert "Error: InvalidEvent" in notice["message"] and "Page error: PagerDutyError" in notice["message"]
    assert respond["name"] in notice["message"]
    # and the failure is still in the audit trail
    [row] = audit_rows(report)
    assert row["outcome"]["S"] == "failed" and row["error"]["S"] == "InvalidEvent"


def test_a_page_that_works_needs_no_last_resort(run_scenario):
    event = copy.deepcopy(GOOD_EVENT)
    del event["detail"]["state"]
    report = run_scenario({"steps": [{"event": event}]})
    assert not [n for n in report["notifications"] if "its page could not be sent" in n["message"]]


def test_a_change_of_the_mode_switch_is_announced_and_audited_with_who_made_it(run_scenario):
    report = run_scenario({"steps": [{"mode": "off"}]})
    [watch] = executions(report, "-mode-change")
    assert watch["status"] == "SUCCEEDED"
    caller = watch["input"]["detail"]["userIdentity"]["arn"]
    assert caller.startswith("arn:aws:") and ":111111111111:" in caller
    # (the security team's page sends its own status update, about the same change)
    [notice] = [n for n in report["notifications"] if "mode switch" in n["message"] and "was changed by" in n["message"]]
    assert notice["subject"] == "[lecture-dhbw] - Remediation mode switch changed"
    assert f"changed by {caller}" in notice["message"] and "It now reads: off" in notice["message"]
    [row] = [r for r in audit_rows(report) if r["pk"]["S"] == "audit#mode-switch"]
    assert row["who"]["S"] == caller and row["mode"]["S"] == "off" and row["event_name"]["S"] == "PutParameter"
    # nothing else ran: a notice (and the security team's page, tests/e2e/test_security_events.py), not a remediation
    assert report["actions"] == []
    assert [p["payload"]["class"] for p in report["pages"]] == ["mode-switch-change"]


def test_the_initial_mode_of_a_scenario_is_setup_not_a_change(run_scenario):
    report = run_scenario({"mode": "dry-run", "steps": [{"event": GOOD_EVENT}]})
    assert executions(report, "-mode-change") == []
    assert not [n for n in report["notifications"] if "mode switch" in n["message"]]
