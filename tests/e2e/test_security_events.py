"""Security events end to end (issue 7, sections 6 and 9): CloudTrail events delivered on the bus reach respond
through the security rules and page the security team at P1, once per burst; nothing changes automatically."""

from datetime import UTC, datetime, timedelta

from sandbox.eventbus import console_sign_in_event, security_group_event
from tests.e2e.conftest import executions
from tests.e2e.test_bad_input import audit_rows

ACCOUNT, REGION = "111111111111", "eu-central-1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
AT = datetime(2026, 11, 26, 9, 20, 0, tzinfo=UTC)  # fixed: the burst window never depends on the wall clock


def triggers(report) -> list[dict]:
    return [p for p in report["pages"] if p.get("event_action") == "trigger" and p.get("http_status") == 202]


def sg_change(i: int = 0, event_name: str = "AuthorizeSecurityGroupIngress") -> dict:
    return security_group_event(
        event_name,
        f"sg-{i:017x}",
        ALICE,
        ACCOUNT,
        REGION,
        at=AT + timedelta(seconds=i),
        permissions=[{"protocol": "tcp", "from": 3306, "cidr": "0.0.0.0/0"}],
    )


def test_a_security_group_change_pages_the_security_team_at_p1_and_changes_nothing(run_scenario):
    report = run_scenario({"steps": [{"event": sg_change()}]})
    [respond] = executions(report, "-respond")
    assert respond["status"] == "SUCCEEDED"
    assert respond["output"]["decision"] == "page" and respond["output"]["outcome"] == "paged"
    # one P1 page (PagerDuty "error") saying who did what where, routed to the security team
    [page] = triggers(report)
    payload = page["payload"]
    assert payload["severity"] == "error" and payload["class"] == "security-group-change"
    assert payload["summary"].startswith(
        f"[P1] lecture-dhbw sg-{0:017x}: Security-group change - AuthorizeSecurityGroupIngress on sg-{0:017x} "
        f"(tcp port 3306 from 0.0.0.0/0), by {ALICE} (IAMUser) from 203.0.113.7, in account {ACCOUNT}, "
        f"region {REGION}, at 2026-11-26T09:20:00+00:00"
    )
    event = payload["custom_details"]["security_event"]
    assert event["who"]["arn"] == ALICE and event["what"]["rules"] == ["tcp port 3306 from 0.0.0.0/0"]
    assert page["dedup_key"] == "lecture-dhbw/security/security-group-change/20261126T0920Z"
    # sent with the security team's routing key, not the infrastructure team's
    assert page["team"] == "security" and payload["custom_details"]["team"] == "security"
    assert "admit: page (" in report["_timeline"] and "P1, to the security team" in report["_timeline"]
    # no runbook ran and nothing in the customer's world changed
    assert report["actions"] == []
    assert [e["state_machine"] for e in report["executions"]] == ["lecture-dhbw-respond"]


def test_twenty_security_group_changes_in_a_minute_give_one_page(run_scenario):
    events = [sg_change(i) for i in range(0, 60, 3)]
    report = run_scenario({"steps": [{"event": e} for e in events]})
    runs = executions(report, "-respond")
    assert len(runs) == 20 and all(r["status"] == "SUCCEEDED" for r in runs)
    # one page, the other 19 recorded as part of the burst
    [page] = triggers(report)
    assert page["dedup_key"] == "lecture-dhbw/security/security-group-change/20261126T0920Z"
    outcomes = sorted(r["output"]["decision"] for r in runs)
    assert outcomes == ["ignore"] * 19 + ["page"]
    paged = next(r["output"]["incident_id"] for r in runs if r["output"]["decision"] == "page")
    assert all(f"incident {paged} already paged" in r["output"]["message"] for r in runs if r["output"]["decision"] == "ignore")
    # every event is in the audit trail
    rows = [r for r in audit_rows(report) if "security-group-change" in r["pk"]["S"]]
    assert len(rows) == 20
    # and only the paged one sent a status update
    assert len([n for n in report["notifications"] if "security-group-change" in n["subject"]]) == 1


def test_a_failed_console_sign_in_pages_the_security_team(run_scenario):
    report = run_scenario(
        {
            "steps": [
                {"event": console_sign_in_event("bob", ACCOUNT, REGION, at=AT)},
                {"event": console_sign_in_event("carol", ACCOUNT, REGION, success=True, at=AT)},
            ]
        }
    )
    # the failed one pages; the successful one matches no rule: nothing started
    [respond] = executions(report, "-respond")
    assert respond["status"] == "SUCCEEDED" and respond["output"]["decision"] == "page"
    [page] = triggers(report)
    assert page["payload"]["severity"] == "error"
    assert "console sign-in failed for bob (Failed authentication)" in page["payload"]["summary"]
    assert "from 198.51.100.23" in page["payload"]["summary"]
    assert "no rule matched the event: nothing started" in report["_timeline"]


def test_a_mode_switch_change_pages_security_and_still_notifies_the_topic(run_scenario):
    report = run_scenario({"steps": [{"mode": "dry-run"}]})
    [watch] = executions(report, "-mode-change")
    [respond] = executions(report, "-respond")
    assert watch["status"] == respond["status"] == "SUCCEEDED"
    caller = watch["input"]["detail"]["userIdentity"]["arn"]
    # the notice as before
    [notice] = [n for n in report["notifications"] if n["subject"] == "[lecture-dhbw] - Remediation mode switch changed"]
    assert f"changed by {caller}" in notice["message"] and "It now reads: dry-run" in notice["message"]
    # and a P1 page to security
    [page] = triggers(report)
    assert page["payload"]["severity"] == "error" and page["payload"]["class"] == "mode-switch-change"
    assert (
        f"PutParameter on the remediation mode switch /lecture/dhbw/remediation/mode, by {caller}" in page["payload"]["summary"]
    )
    assert "P1, to the security team" in report["_timeline"]


def test_a_malformed_cloudtrail_event_is_refused_with_a_clear_error_and_changes_nothing(run_scenario):
    event = sg_change()
    del event["detail"]["userIdentity"]  # still matches the rule: admit must refuse it
    report = run_scenario({"steps": [{"event": event}]})
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and respond["error"] == "AutomationFailed"
    assert respond["cause"].startswith("InvalidEvent: ")
    assert "malformed CloudTrail event: field 'detail.userIdentity': Field required" in respond["cause"]
    assert report["actions"] == []
    # never silent: "automation failed" is paged to the infrastructure team (issue 15: and the security team hears
    # of the event too, tests/e2e/test_guard_rails_meet.py), and no burst window was claimed
    [page] = [p for p in triggers(report) if p["team"] == "infrastructure"]
    assert "automation failed" in page["payload"]["summary"] and "detail.userIdentity" in page["payload"]["summary"]
    [security] = [p for p in triggers(report) if p["team"] == "security"]
    assert "could not be read whole" in security["payload"]["summary"]
    assert not [r for r in report["_table"] if r["pk"]["S"].startswith("claim#security#")]
