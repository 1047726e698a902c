"""Escalation end to end: respond re-checks the alarm after a runbook that succeeded (the sandbox resumes that
wait after the scenario's next step, or at its end), and escalates one step when it is still in ALARM."""

from tests.e2e.conftest import CPU_HIGH, executions


def _states(report, execution_name):
    return [line for line in report["_timeline"].splitlines() if execution_name in line]


def test_an_alarm_still_in_alarm_after_the_recheck_is_escalated_to_p1_on_the_same_alert(run_scenario):
    report = run_scenario({"steps": [{"alarm": CPU_HIGH, "state": "ALARM"}]})
    assert [p["kind"] for p in report["pages"]] == ["trigger", "change", "trigger"]  # the scale's change event
    first, escalated = [p for p in report["pages"] if p["kind"] == "trigger"]
    assert first["payload"]["severity"] == "warning" and escalated["payload"]["severity"] == "error"
    assert escalated["dedup_key"] == first["dedup_key"] and escalated["event_action"] == "trigger"
    assert "escalated from P2 to P1" in escalated["payload"]["summary"]
    assert "still ALARM 15 min after scale-ecs-service succeeded" in escalated["payload"]["summary"]
    [respond] = executions(report, "-respond")
    assert respond["status"] == "SUCCEEDED" and respond["output"]["escalation"]["escalated_to"] == "P1"
    # 15 simulated minutes went by for the re-check, on top of the verify poll
    assert report["_simulated_seconds"] >= 15 * 60


def test_an_alarm_that_went_ok_meanwhile_is_not_escalated(run_scenario):
    report = run_scenario({"steps": [{"alarm": CPU_HIGH, "state": "ALARM"}, {"alarm": CPU_HIGH, "state": "OK"}]})
    assert [
        (p["kind"], p["payload"].get("severity") if "payload" in p and p["kind"] == "trigger" else None) for p in report["pages"]
    ] == [("trigger", "warning"), ("change", None), ("resolve", None)]
    first = executions(report, "-respond")[0]
    assert first["status"] == "SUCCEEDED" and "escalation" not in first["output"]


def test_a_runbook_that_timed_out_is_paged_at_p1(run_scenario):
    report = run_scenario(
        {
            "world": {"ecs": {"lecture-backend-service": {"desired": 2, "tasks_fail_to_start": True}}},
            "steps": [{"alarm": CPU_HIGH, "state": "ALARM"}],
        }
    )
    assert [p["kind"] for p in report["pages"]] == ["trigger", "trigger"]  # nothing changed: no change event
    first, again = report["pages"]
    assert first["payload"]["severity"] == "warning"
    assert again["payload"]["severity"] == "error" and "escalated from P2" in again["payload"]["summary"]
    assert again["dedup_key"] == first["dedup_key"]
    assert len(report["pages"]) == 2  # a timed-out run is not re-checked: it was escalated already
