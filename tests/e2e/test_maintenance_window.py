"""End-to-end: the maintenance-window runbook started by hand in the sandbox (issue 8, section 2)."""

import pytest

from tests.e2e.conftest import CPU_HIGH, executions

# who answers: named approvers (user/approvers/* in customers/dhbw.yaml), as IAM verified them
ALICE = "arn:aws:iam::111111111111:user/approvers/alice"

SERVICE = "lecture-backend-service"
START = {"start": "maintenance-window", "input": {"services": [SERVICE], "minutes": 30, "reason": "db upgrade"}}
# it stops production: a named approver approves it first (issue 15)
APPROVE = {"approve": "maintenance-window", "by": "approvers/alice", "comment": "planned with the customer"}
# a service at 3 tasks whose autoscaling floor is 3: not the runbook's usual 2
AT_THREE = {"ecs": {SERVICE: {"desired": 3, "autoscaling": True, "floor": 3}}}


def window_run(report) -> dict:
    [run] = executions(report, "-maintenance-window")
    return run


def ecs_calls(report) -> list[tuple[str, dict]]:
    return [(a["operation"], a["params"]) for a in report["actions"] if a["service"] in ("ecs", "application-autoscaling")]


def test_restores_the_recorded_counts_not_two_and_lifts_the_window(run_scenario):
    report = run_scenario({"world": AT_THREE, "steps": [START, APPROVE]})
    run = window_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "completed"
    assert f"restored {SERVICE}: 3 tasks, autoscaling floor 3; all running" in run["output"]["message"]
    # backups first, as child workflows, then down to 0 (floor first), then back to exactly 3 and floor 3
    assert [e["output"]["outcome"] for e in executions(report, "-backup-terraform-state")] == ["backed_up"]
    assert [e["output"]["outcome"] for e in executions(report, "-snapshot-rds-cluster")] == ["snapshot_created"]
    calls = ecs_calls(report)
    assert [(op, p.get("desiredCount", p.get("MinCapacity"))) for op, p in calls] == [
        ("RegisterScalableTarget", 0),
        ("UpdateService", 0),
        ("RegisterScalableTarget", 3),
        ("UpdateService", 3),
    ]
    world = report["world"]["ecs"][SERVICE]
    assert (world["desired"], world["running"], world["autoscaling"]["min"]) == (3, 3, 3)
    assert "maintenance_window" not in world  # the suppression is lifted
    assert report["_simulated_seconds"] >= 30 * 60  # it waited the planned minutes
    # the start and the end: a PagerDuty change event and a status update each
    changes = [
        p["payload"]["summary"]
        for p in report["pages"]
        if p["kind"] == "change" and "maintenance window" in p["payload"]["summary"]
    ]
    assert len(changes) == 2 and "opens" in changes[0] and "ended (completed)" in changes[1]
    assert sum("maintenance window" in n.get("message", "") for n in report["notifications"]) >= 2


def test_a_failed_backup_stops_it_before_any_service_is_scaled_down(run_scenario):
    report = run_scenario({"world": {**AT_THREE, "state": {"exists": False}}, "steps": [START, APPROVE]})
    run = window_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "backup_failed"
    assert "state_missing" in run["output"]["message"]
    assert ecs_calls(report) == [] and executions(report, "-snapshot-rds-cluster") == []
    assert report["world"]["ecs"][SERVICE]["desired"] == 3
    assert "maintenance_window" not in report["world"]["ecs"][SERVICE]
    assert any("ended (backup_failed)" in p["payload"]["summary"] for p in report["pages"] if p["kind"] == "change")


def test_a_missing_cluster_fails_the_backup_too(run_scenario):
    report = run_scenario({"world": {**AT_THREE, "rds": {"lecture-dhbw-cluster": {"exists": False}}}, "steps": [START, APPROVE]})
    assert window_run(report)["output"]["outcome"] == "backup_failed"
    assert ecs_calls(report) == [] and report["world"]["ecs"][SERVICE]["desired"] == 3


def test_a_failure_mid_way_still_lifts_the_window_and_leaves_the_recorded_counts(run_scenario):
    # PagerDuty takes the approval's note and its resolve, the start's change event, then refuses the end's (400 is
    # never retried): NotifyEnd fails
    report = run_scenario({"world": {**AT_THREE, "pagerduty": {"responses": [202, 202, 202, 400]}}, "steps": [START, APPROVE]})
    run = window_run(report)
    assert run["status"] == "FAILED" and "PagerDutyError" in f"{run['error']} {run['cause']}"
    world = report["world"]["ecs"][SERVICE]
    assert (world["desired"], world["autoscaling"]["min"]) == (3, 3)
    assert "maintenance_window" not in world  # lifted on the failure path too


def test_services_that_do_not_come_back_end_not_running_and_the_window_is_lifted(run_scenario):
    report = run_scenario({"world": {"ecs": {SERVICE: {"desired": 3, "tasks_fail_to_start": True}}}, "steps": [START, APPROVE]})
    out = window_run(report)["output"]
    assert out["outcome"] == "not_running" and f"{SERVICE}: 0 of 3 running" in out["message"]
    assert "maintenance_window" not in report["world"]["ecs"][SERVICE]


def test_an_alarm_during_an_open_window_pages_p3_and_does_not_scale(run_scenario):
    report = run_scenario(
        {"world": {"ecs": {SERVICE: {"desired": 2, "maintenance_window": {"minutes_left": 20}}}}, "steps": [{"alarm": CPU_HIGH}]}
    )
    assert executions(report, "-scale-ecs-service") == [] and ecs_calls(report) == []
    assert [p for p in report["pages"] if p["kind"] == "trigger"] == []
    [held] = [n for n in report["notifications"] if "maintenance window open" in n.get("message", "")]
    assert held["attributes"]["severity"] == "P3"
    assert report["world"]["ecs"][SERVICE]["maintenance_window"]["execution"] == "gameday-window"


def test_an_expired_window_does_not_hold_the_alarm_back(run_scenario):
    report = run_scenario(
        {"world": {"ecs": {SERVICE: {"desired": 2, "maintenance_window": {"minutes_left": -5}}}}, "steps": [{"alarm": CPU_HIGH}]}
    )
    [scale] = executions(report, "-scale-ecs-service")
    assert scale["output"]["outcome"] == "scaled" and report["world"]["ecs"][SERVICE]["desired"] == 3


UNTIL_DONE = {"start": "maintenance-window", "input": {"services": [SERVICE], "until": "done"}}


def test_until_done_an_alarm_in_the_window_pages_p3_then_done_restores_the_recorded_counts(run_scenario):
    report = run_scenario(
        {
            "world": AT_THREE,
            "steps": [
                UNTIL_DONE,
                APPROVE,  # returns while the window waits for an operator's done
                {"alarm": CPU_HIGH},
                {"approve": "maintenance-window", "by": "approvers/alice", "comment": "upgrade finished"},
            ],
        }
    )
    # the alarm during the window: P3 (a status update only), nothing scaled by scale-ecs-service
    assert executions(report, "-scale-ecs-service") == []
    assert [p for p in report["pages"] if p["kind"] == "trigger" and CPU_HIGH in p["dedup_key"]] == []
    # the only triggers are the generic low-urgency notes asking for the approval, then for the done
    assert [p["dedup_key"].split("/")[1] for p in report["pages"] if p["kind"] == "trigger"] == ["approval", "approval"]
    # the alarm's own status update (the window's start notice says "maintenance window open" too)
    [held] = [
        n
        for n in report["notifications"]
        if "maintenance window open" in n.get("message", "") and "cpu-high" in n.get("subject", "")
    ]
    assert held["attributes"]["severity"] == "P3"
    # alice's done ended the window; the services are back at their recorded counts, the window lifted
    run = window_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "completed"
    world = report["world"]["ecs"][SERVICE]
    assert (world["desired"], world["running"], world["autoscaling"]["min"]) == (3, 3, 3)
    assert "maintenance_window" not in world
    approved, done = report["approvals"]  # the approval to open it, then the done
    assert (approved["answer"], approved["by"], approved["comment"]) == ("approved", ALICE, "planned with the customer")
    assert (done["runbook"], done["answer"], done["by"], done["comment"]) == (
        "maintenance-window",
        "approved",
        ALICE,
        "upgrade finished",
    )


def test_until_done_with_no_answer_ends_at_the_maximum_and_restores(run_scenario):
    report = run_scenario({"world": AT_THREE, "steps": [UNTIL_DONE, APPROVE, {"wait_minutes": 241}]})
    run = window_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "completed"
    assert report["world"]["ecs"][SERVICE]["desired"] == 3
    assert "maintenance_window" not in report["world"]["ecs"][SERVICE]
    assert [a["answer"] for a in report["approvals"]] == ["approved", "timed_out"]


# --- booked ahead (issue 15, item 6): the customers' notice, a reminder, then the window at its time -----------
def _booked_in(hours: float) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _desired(sb) -> int:
    [svc] = sb.client("ecs").describe_services(cluster="lecture-dhbw-cluster", services=[SERVICE])["services"]
    return int(svc["desiredCount"])


def _window(sb) -> dict:
    [run] = [e for e in sb.executions() if e["state_machine"].endswith("-maintenance-window")]
    return run


def _told(sb, words: str) -> list[dict]:
    return [n for n in sb.notifications if words in n.get("message", "")]


def test_a_window_booked_ahead_tells_the_customers_reminds_them_and_opens_at_its_time(dhbw_assembly, dhbw_deployed, tmp_path):
    from sandbox.engine import Sandbox

    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sb:
        # given a window booked 50 hours ahead, approved by a named approver
        at = _booked_in(50)
        sb.start_runbook("maintenance-window", {"services": [SERVICE], "minutes": 30, "at": at, "reason": "db upgrade"})
        assert _told(sb, "maintenance window booked") == []  # not before it is approved
        sb.answer_approval("maintenance-window", approve=True, by="approvers/alice", comment="agreed with the customer")
        # then the customers' notice goes out at once, in the status-update template, and nothing is stopped yet
        [notice] = _told(sb, "maintenance window booked")
        assert f"will be stopped at {at} for 30 min" in notice["message"]
        for field in ("Current Status: Identified", "Impact: planned maintenance of lecture-backend-service", "Next Update: "):
            assert field in notice["message"], notice["message"]
        assert "- ETA: the services are back by " in notice["message"] and "Contact: " in notice["message"]
        assert _window(sb)["status"] == "RUNNING" and _desired(sb) == 2
        assert not [e for e in sb.executions() if e["state_machine"].endswith("-backup-terraform-state")]
        # when 48 simulated hours pass: still waiting, no reminder yet
        sb.wait_minutes(48 * 60)
        assert _told(sb, "reminder: the maintenance window") == [] and _desired(sb) == 2
        # an hour before it opens: the reminder, still nothing stopped
        sb.wait_minutes(61)
        [reminder] = _told(sb, "reminder: the maintenance window")
        assert f"opens at {at}" in reminder["message"] and _desired(sb) == 2
        assert not _told(sb, "maintenance window opens")
        # at its time: the window runs (backups, stop, wait, restore) and ends completed
        sb.wait_minutes(60)
        sb.wait_all()
        run = _window(sb)
        assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "completed", run
        assert run["output"]["starts_at"] == at and run["output"]["approval"]["by"] == ALICE
        assert _desired(sb) == 2
        # the order the customers heard it in: booked, reminder, opens, ended
        said = [n["message"] for n in sb.notifications if "maintenance window" in n.get("message", "")]
        heard = ("maintenance window booked", "reminder: the maintenance", "maintenance window opens", "ended (completed)")
        order = [next(i for i, m in enumerate(said) if words in m) for words in heard]
        assert order == sorted(order), said


@pytest.mark.parametrize(
    "hours, problem",
    [(47, "customers are told at least 48 hours ahead"), (24 * 31, "is more than 30 days ahead")],
)
def test_a_booking_with_too_little_notice_or_too_far_ahead_fails_at_guard_and_nothing_happens(run_scenario, hours, problem):
    report = run_scenario(
        {"world": AT_THREE, "steps": [{"start": "maintenance-window", "input": {**START["input"], "at": _booked_in(hours)}}]}
    )
    run = window_run(report)
    assert run["status"] == "FAILED" and "InvalidInput" in run["cause"] and problem in run["cause"], run
    assert ecs_calls(report) == [] and report["approvals"] == [] and executions(report, "-backup-terraform-state") == []
    assert not [n for n in report["notifications"] if "maintenance window" in n.get("message", "")]
