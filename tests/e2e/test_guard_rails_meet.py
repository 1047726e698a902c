"""Where the guard rails meet (issue 15): game days that combine an approval, a PagerDuty outage, a maintenance
window, the autoscaling floor and an oversized or unreadable security event. Each failed on the main of before."""

import copy
from datetime import UTC, datetime, timedelta

from sandbox.eventbus import security_group_event
from tests.e2e.conftest import CPU_HIGH, executions
from tests.e2e.test_operator_state import DIGEST, STALE, UNLOCK

APPROVER = "arn:aws:iam::111111111111:user/approvers/alice"  # a named approver, as IAM verified her

SERVICE = "lecture-backend-service"
ACCOUNT, REGION = "111111111111", "eu-central-1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
AT = datetime(2026, 11, 26, 9, 20, 0, tzinfo=UTC)


def pending_items(report) -> list[dict]:
    return [i for i in report["_table"] if i["pk"]["S"] == "approval#pending"]


def approval_notes(report) -> list[dict]:
    return [p for p in report["pages"] if "/approval/" in str(p.get("dedup_key", ""))]


def the_unlock(report) -> dict:
    [run] = executions(report, "-force-unlock-state")
    return run


# --- 1. the off switch stops an approved action ----------------------------------------------------------------
RESTORED = "lecture-dhbw-cluster-restored"
SNAPSHOTS = {
    "rds": {
        "lecture-dhbw-cluster": {
            "snapshots": [
                {
                    "id": "lecture-dhbw-auto-20261125-020000-bbbbbb",
                    "age_days": 1,
                    "tags": {"created-by": "lecture-remediation", "customer": "dhbw"},
                }
            ]
        }
    }
}
RESTORE_RDS = {"start": "restore-rds-cluster", "input": {"reason": "table dropped"}}


def test_the_off_switch_turned_while_two_approvals_wait_stops_both_approved_actions(run_scenario):
    # given two runs waiting for approval (a stale lock to delete, a snapshot to restore), then the switch turned off
    # (the security team is paged about it); then both approvals are answered, approved by a named approver
    report = run_scenario(
        {
            "world": {"locks": STALE, **SNAPSHOTS},
            "steps": [
                UNLOCK,
                RESTORE_RDS,
                {"mode": "off"},
                {"approve": "force-unlock-state", "by": "approvers/alice", "comment": "stale, go"},
                {"approve": "restore-rds-cluster", "by": "approvers/alice", "comment": "go"},
            ],
        }
    )
    # both were approved, as recorded ...
    assert sorted((a["runbook"], a["answer"], a["by"]) for a in report["approvals"]) == [
        ("force-unlock-state", "approved", APPROVER),
        ("restore-rds-cluster", "approved", APPROVER),
    ]
    # ... and neither acted: no lock deleted, no cluster restored (before: unlocked and restored, "mode: enforce")
    assert len(report["world"]["locks"]) == 2 and report["world"]["state"]["digest_item"] == DIGEST
    assert RESTORED not in report["world"]["rds"]
    changes = [a["operation"] for a in report["actions"] if not a["operation"].startswith(("Describe", "Get", "List", "Head"))]
    assert changes == [], changes
    # the outputs say the mode read where the change would have happened, and why nothing was done
    for runbook in ("force-unlock-state", "restore-rds-cluster"):
        [run] = executions(report, f"-{runbook}")
        out = run["output"]
        assert run["status"] == "SUCCEEDED" and out["outcome"] == "refused", out
        assert out["mode"] == "off" and out["proceed"] is False
        assert "skipped: the mode switch /lecture/dhbw/remediation/mode is off now, read before the change" in out["message"]
        assert "(guard planned in enforce)" in out["message"] and "nothing was changed" in out["message"]
        # a status update says it was skipped, so nobody takes the approval for the change
        [told] = [n for n in report["notifications"] if f"Impact: {runbook} was skipped: nothing was changed" in n["message"]]
        assert "is off now, read before the change" in told["message"]
    # the switch itself was paged to the security team
    assert [p["payload"]["class"] for p in report["pages"] if p["kind"] == "trigger" and p["team"] == "security"] == [
        "mode-switch-change"
    ]
    assert pending_items(report) == []


# --- 2. a PagerDuty blip does not cancel an approved change ----------------------------------------------------
def test_a_blip_when_resolving_the_approval_note_does_not_cancel_the_approved_unlock(run_scenario):
    # the note is triggered (202); resolving it once answered gets 503 three times; PagerDuty is back afterwards
    report = run_scenario(
        {
            "world": {"locks": STALE, "pagerduty": {"responses": [202, 503, 503, 503]}},
            "steps": [UNLOCK, {"approve": "force-unlock-state", "by": "approvers/alice"}],
        }
    )
    run = the_unlock(report)
    assert run["status"] == "SUCCEEDED", run
    assert run["output"]["outcome"] == "unlocked" and f"approved by {APPROVER}" in run["output"]["message"]
    assert report["world"]["locks"] == [] and report["world"]["state"]["digest_item"] == DIGEST
    # the note that could not be resolved is reported: tried 3 times, a page-fallback, a status update, an audit row
    assert [p["http_status"] for p in approval_notes(report)] == [202, 503, 503, 503]
    [fallback] = report["sns_pages"]
    assert fallback["subject"].startswith("PAGE NOT DELIVERED: resolve of lecture-dhbw/approval/")
    assert "503" in fallback["message"]
    told = [n for n in report["notifications"] if f"approved by {APPROVER}" in n["message"]]
    assert told  # the answer's status update went out before PagerDuty was tried
    rows = [i for i in report["_table"] if i["pk"]["S"].startswith("audit#") and i.get("step", {}).get("S") == "approval-note"]
    assert len(rows) == 1 and "PagerDuty unavailable after 3 attempts" in rows[0]["error"]["S"]
    assert "approval-note" not in str(report["approvals"])  # the approval itself is recorded once, as before
    assert [(a["answer"], a["by"]) for a in report["approvals"]] == [("approved", APPROVER)]
    assert "SNS page fallback: PAGE NOT DELIVERED: resolve of" in report["_timeline"]
    assert pending_items(report) == []


# --- 3. with PagerDuty down, an approval can still be asked for and answered -----------------------------------
def test_with_pagerduty_down_the_approval_is_asked_through_the_table_and_sns_and_answered(run_scenario):
    report = run_scenario(
        {
            "world": {"locks": STALE, "pagerduty": {"fail_status": 503}},
            "steps": [UNLOCK, {"approve": "force-unlock-state", "by": "approvers/alice"}],
        }
    )
    run = the_unlock(report)
    assert run["status"] == "SUCCEEDED", run
    assert run["output"]["outcome"] == "unlocked" and report["world"]["locks"] == []
    # every PagerDuty request failed (the note, its resolve, the teams' change events), and each is reported
    assert {p["http_status"] for p in report["pages"]} == {503}
    asked = [n for n in report["notifications"] if "waiting for approval" in n["message"]]
    assert len(asked) == 1 and "python cli.py approve" in asked[0]["message"]
    assert "the PagerDuty note was not sent (PagerDuty unavailable after 3 attempts" in report["_timeline"]
    # the note, its resolve, the change events of both teams: each told on the status topic instead
    subjects = [p["subject"] for p in report["sns_pages"]]
    assert len(subjects) == 4 and subjects[0].startswith("PAGE NOT DELIVERED: [approval]"), subjects
    noted = sorted(i["note"]["S"] for i in report["_table"] if i.get("step", {}).get("S") == "approval-note")
    assert noted == ["outcome", "request", "resolve"]
    assert [(a["answer"], a["by"]) for a in report["approvals"]] == [("approved", APPROVER)]
    assert pending_items(report) == []


def test_with_pagerduty_down_an_unanswered_approval_times_out_and_leaves_no_pending_item(run_scenario):
    report = run_scenario({"world": {"locks": STALE, "pagerduty": {"fail_status": 503}}, "steps": [UNLOCK, {"wait_minutes": 31}]})
    run = the_unlock(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "rejected", run
    assert run["output"]["approval"]["answer"] == "timed_out"
    assert len(report["world"]["locks"]) == 2 and report["actions"] == []
    assert pending_items(report) == []


def test_a_request_that_fails_for_another_reason_leaves_no_approval_pending(dhbw_assembly, tmp_path):
    from sandbox import scenario as scenarios
    from sandbox.engine import Sandbox

    world = scenarios.parse({"customer": "dhbw", "world": {"locks": STALE}, "steps": [UNLOCK]}).world
    sb = Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, world=world)
    sb.start()
    try:
        # the status topic is gone: the request's status update fails after the token was stored
        sns = sb.client("sns")
        [topic] = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":lecture-dhbw-status-updates")]
        sns.delete_topic(TopicArn=topic)
        sb.start_runbook("force-unlock-state", UNLOCK["input"])
        report = sb.report()
        table = sb.client("dynamodb").scan(TableName="lecture-dhbw-remediation")["Items"]
    finally:
        sb.stop()
    [run] = executions(report, "-force-unlock-state")
    assert run["status"] == "FAILED" and "NotFound" in f"{run['error']} {run['cause']}", run
    assert len(report["world"]["locks"]) == 2
    # the execution is dead: no approval of it is left pending for `pending` to list
    assert not [i for i in table if i["pk"]["S"] == "approval#pending"]


# --- 4. a maintenance window opened while an alarm is open ------------------------------------------------------
# open until an operator says done: the re-check and the OK come while it is open
WINDOW = {"start": "maintenance-window", "input": {"services": [SERVICE], "until": "done", "reason": "db upgrade"}}
DONE = {"approve": "maintenance-window", "by": "approvers/alice", "comment": "upgrade finished"}
# the window stops production: a named approver approves it before it opens (issue 15, Medium 3)
APPROVE_WINDOW = {"approve": "maintenance-window", "by": "approvers/alice", "comment": "planned"}


def test_a_window_opened_while_the_alarm_is_open_neither_escalates_nor_leaves_the_alert_open(run_scenario):
    report = run_scenario(
        {
            "steps": [
                # the window is asked for first (it waits for its approval: the re-check must come while it is open)
                WINDOW,
                {"alarm": CPU_HIGH, "state": "ALARM"},  # P2 page, scaled out; the re-check waits 15 minutes
                APPROVE_WINDOW,  # the window opens; the re-check comes while it is open
                {"alarm": CPU_HIGH, "state": "OK"},  # the OK comes during the window
                DONE,
            ]
        }
    )
    alert = [p for p in report["pages"] if p.get("dedup_key", "").endswith(CPU_HIGH)]
    # triggered once at P2, never escalated during the window, and resolved
    assert [(p["kind"], p.get("payload", {}).get("severity")) for p in alert] == [("trigger", "warning"), ("resolve", None)]
    first = executions(report, "-respond")[0]
    assert first["status"] == "SUCCEEDED" and first["output"]["escalation"]["sent"] == "status-update"
    assert "escalated_to" not in first["output"]["escalation"]
    held = [n for n in report["notifications"] if "not escalated" in n["message"]]
    assert len(held) == 1 and "maintenance window" in held[0]["message"]
    assert executions(report, "-maintenance-window")[0]["output"]["outcome"] == "completed"


# --- 5. the floor raised by the alarm's scale-out, then a window ------------------------------------------------
def test_after_the_window_and_the_ok_the_floor_is_the_configured_minimum(run_scenario):
    report = run_scenario(
        {
            "world": {"ecs": {SERVICE: {"desired": 2, "autoscaling": True}}},
            "steps": [
                WINDOW,  # asked for; it waits for its approval
                {"alarm": CPU_HIGH, "state": "ALARM"},  # 2 -> 3, floor 2 -> 3 (remembered: 2)
                APPROVE_WINDOW,  # the window opens: records 3 tasks, floor 3; sets floor 0, desired 0
                {"alarm": CPU_HIGH, "state": "OK"},  # the OK's restore comes while the window holds the floor at 0
                # the scale-out's cooldown passes during the window (respond waits for it on the sandbox's clock)
                {"wait_minutes": 6},
                DONE,
            ],
        }
    )
    world = report["world"]["ecs"][SERVICE]
    assert world["autoscaling"]["min"] == 2, world  # the configured minimum, not 3
    assert "maintenance_window" not in world
    ok = [e for e in executions(report, "-respond") if e["output"].get("outcome") == "resolved"]
    assert len(ok) == 1
    message = ok[0]["output"]["message"]
    assert "put back from 0 to 2" not in message
    assert "maintenance window" in message and "goes back to 2" in message
    window = executions(report, "-maintenance-window")[0]["output"]
    assert window["outcome"] == "completed" and "autoscaling floor 2" in window["message"]
    assert not [i for i in report["_table"] if i["pk"]["S"].startswith("floor#")]


# --- 6. security events too large to keep whole, or unreadable --------------------------------------------------
def _sixty_rules() -> dict:
    rules = [{"protocol": "tcp", "from": 1000 + i, "cidr": f"10.{i}.0.0/16"} for i in range(60)]
    event = security_group_event(
        "AuthorizeSecurityGroupIngress", "sg-0123456789abcdef0", ALICE, ACCOUNT, REGION, at=AT, permissions=rules
    )
    for item in event["detail"]["requestParameters"]["ipPermissions"]["items"]:  # as a console call carries them
        item["ipRanges"]["items"][0]["description"] = "temporary access for the migration, remove after " * 3
    return event


def test_a_security_group_change_with_sixty_rules_pages_security_with_what_fits(run_scenario):
    import json

    event = _sixty_rules()
    assert len(json.dumps(event["detail"]["requestParameters"])) > 16 * 1024
    report = run_scenario({"steps": [{"event": event}]})
    [respond] = executions(report, "-respond")
    assert respond["status"] == "SUCCEEDED", respond
    assert respond["output"]["decision"] == "page"
    [page] = [p for p in report["pages"] if p["kind"] == "trigger"]
    assert page["team"] == "security" and page["payload"]["severity"] == "error"
    summary = page["payload"]["summary"]
    assert "AuthorizeSecurityGroupIngress on sg-0123456789abcdef0" in summary and ALICE in summary  # what, who
    assert f"account {ACCOUNT}" in summary and "cut" in summary  # where, and that it was cut
    cut = page["payload"]["custom_details"]["security_event"]["cut"]
    assert cut and "requestParameters" in cut[0] and "60" in cut[0]
    assert "60 rules" in summary or "50 more" in summary
    assert not [p for p in report["pages"] if "automation failed" in p["payload"].get("summary", "")]


def test_an_unreadable_event_from_a_security_rule_pages_the_security_team_too(run_scenario):
    event = security_group_event(
        "AuthorizeSecurityGroupIngress",
        "sg-0123456789abcdef0",
        ALICE,
        ACCOUNT,
        REGION,
        at=AT + timedelta(minutes=30),
        permissions=[{"protocol": "tcp", "from": 22, "cidr": "0.0.0.0/0"}],
    )
    event = copy.deepcopy(event)
    del event["detail"]["eventTime"]  # a field missing: admit cannot read it
    report = run_scenario({"steps": [{"event": event}]})
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and respond["cause"].startswith("InvalidEvent: ")
    triggers = [p for p in report["pages"] if p["kind"] == "trigger"]
    security = [p for p in triggers if p["team"] == "security"]
    assert len(security) == 1, triggers
    summary = security[0]["payload"]["summary"]
    assert "could not be read whole" in summary and "detail.eventTime" in summary
    assert "AuthorizeSecurityGroupIngress" in summary and ALICE in summary and f"account {ACCOUNT}" in summary
    # and the infrastructure team hears that the automation failed, as before
    assert [p["team"] for p in triggers if "automation failed" in p["payload"]["summary"]] == ["infrastructure"]
    assert report["actions"] == []
