"""Game days of real delivery: late, repeated, out-of-order and oversized input (issue 5, sections 2.5 and 3)."""

import copy

from tests.e2e.conftest import CPU_HIGH, executions
from tests.e2e.test_bad_input import GOOD_EVENT, audit_rows

SERVICE = "lecture-backend-service"


def event(state, previous, at, event_id):
    """A CPU-high state change at an exact time, e.g. at='10:00:00.100'."""
    e = copy.deepcopy(GOOD_EVENT)
    e["id"] = event_id
    e["time"] = f"2026-11-26T{at[:8]}Z"
    e["detail"]["state"] = {"value": state, "reason": f"game day: {state}", "timestamp": f"2026-11-26T{at}+0000"}
    e["detail"]["previousState"] = {"value": previous, "reason": "before", "timestamp": "2026-11-26T09:00:00.000+0000"}
    return {"event": e}


def alarm(state):
    return {"alarm": CPU_HIGH, "state": state}


def statuses(report):
    return [(n["subject"], n["message"].split("Current Status: ")[1].splitlines()[0]) for n in report["notifications"]]


def test_stale_alarm_delivered_after_a_later_ok_is_ignored(run_scenario):
    # the OK of 10:05 arrives first, then the ALARM of 10:00 it cleared
    report = run_scenario(
        {"steps": [event("OK", "ALARM", "10:05:00.000", "ev-ok"), event("ALARM", "OK", "10:00:00.000", "ev-alarm")]}
    )
    assert report["actions"] == [] and executions(report, "-scale-ecs-service") == []
    assert [p["kind"] for p in report["pages"]] == ["resolve"]
    ok, stale = executions(report, "-respond")
    assert ok["output"]["outcome"] == "resolved"
    assert stale["status"] == "SUCCEEDED" and stale["output"]["decision"] == "ignore"
    assert "stale" in stale["output"]["message"]
    # recorded: the audit trail says it was ignored and why
    ignored = [r for r in audit_rows(report) if r.get("outcome", {}).get("S") == "ignore"]
    assert ignored and "stale" in ignored[0]["message"]["S"]


def test_alarm_ok_alarm_within_one_second_are_distinct_incidents(run_scenario):
    report = run_scenario(
        {
            "steps": [
                event("ALARM", "OK", "10:00:00.100", "ev-1"),
                event("OK", "ALARM", "10:00:00.400", "ev-2"),
                event("ALARM", "OK", "10:00:00.800", "ev-3"),
            ]
        }
    )
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
    assert not [p for p in report["pages"] if "automation failed" in p.get("payload", {}).get("summary", "")]
    first, second = executions(report, "-scale-ecs-service")
    assert first["name"] != second["name"]
    triggers = [p for p in report["pages"] if p["kind"] == "trigger"]
    incidents = [p["payload"]["custom_details"]["incident_id"] for p in triggers]
    assert len(set(incidents)) == 2, incidents
    # the second episode is within the cooldown: refused, not a collision
    assert second["output"]["outcome"] == "refused" and "cooldown" in second["output"]["message"]


def test_malformed_event_redelivered_five_times_opens_one_alert(run_scenario):
    bad = copy.deepcopy(GOOD_EVENT)
    del bad["detail"]["state"]
    report = run_scenario({"steps": [{"event": bad, "deliveries": 5}]})
    failed = executions(report, "-respond")
    assert len(failed) == 5 and {e["status"] for e in failed} == {"FAILED"}
    triggers = [p for p in report["pages"] if p["kind"] == "trigger"]
    assert len(triggers) == 5
    assert len({p["dedup_key"] for p in triggers}) == 1
    assert report["actions"] == []


def test_insufficient_data_between_two_alarms_keeps_the_first_incident_open(run_scenario):
    report = run_scenario({"steps": [alarm("OK"), alarm("ALARM"), alarm("INSUFFICIENT_DATA"), alarm("ALARM"), alarm("OK")]})
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
    triggers = [p for p in report["pages"] if p["kind"] == "trigger"]
    first_incident = triggers[0]["payload"]["custom_details"]["incident_id"]
    # the second ALARM continues the open incident (a second runbook run, its own execution name)
    assert {p["payload"]["custom_details"]["incident_id"] for p in triggers} == {first_incident}
    runs = executions(report, "-scale-ecs-service")
    assert len(runs) == 2 and runs[0]["name"] != runs[1]["name"]
    assert runs[1]["output"]["outcome"] == "refused"  # within the cooldown of the first action
    # the first incident gets its "Resolved" status update
    resolved = executions(report, "-respond")[-1]["output"]
    assert resolved["outcome"] == "resolved" and resolved["incident_id"] == first_incident
    assert (f"[{first_incident}] - Lecture Infrastructure Issue - Status Update", "Resolved") in statuses(report)
    assert [a["params"]["desiredCount"] for a in report["actions"]] == [3]


def test_autoscaling_floor_is_put_back_once_the_incident_is_over(run_scenario):
    report = run_scenario(
        {"world": {"ecs": {SERVICE: {"desired": 2, "autoscaling": True}}}, "steps": [alarm("ALARM"), alarm("OK")]}
    )
    assert [(a["operation"], a["params"].get("MinCapacity")) for a in report["actions"]] == [
        ("RegisterScalableTarget", 3),
        ("UpdateService", None),
        ("RegisterScalableTarget", 2),
    ]
    assert report["world"]["ecs"][SERVICE]["autoscaling"] == {"min": 2, "max": 6}
    assert report["world"]["ecs"][SERVICE]["desired"] == 3  # the autoscaler scales in by its own policy
    # the on-call is told in the resolve status update
    [resolved] = [n["message"] for n in report["notifications"] if "Current Status: Resolved" in n["message"]]
    assert "floor" in resolved and "back to 2" in resolved
    # the restore waited for the cooldown (300 s, simulated) and is recorded
    assert report["_simulated_seconds"] >= 250
    respond = executions(report, "-respond")[-1]
    assert respond["status"] == "SUCCEEDED" and "floor" in respond["output"]["message"]


def test_timed_out_scale_out_pages_the_current_floor(run_scenario):
    report = run_scenario(
        {"world": {"ecs": {SERVICE: {"desired": 2, "autoscaling": True, "tasks_fail_to_start": True}}}, "steps": [alarm("ALARM")]}
    )
    [run] = executions(report, "-scale-ecs-service")
    assert run["output"]["outcome"] == "timed_out"
    page = report["pages"][-1]["payload"]
    assert page["custom_details"]["outcome"]["scalable_target"]["min"] == 3
    assert "floor 3" in page["summary"]


def test_huge_manual_input_is_refused_before_any_write_and_keeps_the_cooldown(run_scenario):
    huge = {"service": SERVICE, "delta": 1, "incident_id": "x" * 135_000}
    report = run_scenario(
        {
            "steps": [
                {"start": "scale-ecs-service", "input": huge},
                {"start": "scale-ecs-service", "input": {"service": SERVICE, "delta": 1}},
            ]
        }
    )
    refused, valid = executions(report, "-scale-ecs-service")
    assert refused["status"] == "FAILED" and refused["error"] == "RunbookFailed"
    assert "InvalidInput" in refused["cause"] and "incident_id" in refused["cause"]
    assert len(refused["cause"]) < 2000  # the error names the field, it does not echo it
    assert [r["outcome"]["S"] for r in audit_rows(report)].count("failed") == 1
    # the cooldown was not used up: the following valid run scales
    assert valid["status"] == "SUCCEEDED" and valid["output"]["outcome"] == "scaled"
    assert [a["params"]["desiredCount"] for a in report["actions"]] == [3]


# --- forged events: admit confirms the alarm's state with DescribeAlarms (issue 15, Low 4) ---------------------
def _now_event(state, previous):
    """An event of a state change that never happened, stamped later than anything the scenario does."""
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC) + timedelta(minutes=10)
    e = copy.deepcopy(GOOD_EVENT)
    e["id"] = f"forged-{state.lower()}"
    e["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    e["detail"]["state"] = {"value": state, "reason": "forged", "timestamp": at.isoformat(timespec="milliseconds")}
    e["detail"]["previousState"] = {"value": previous, "reason": "before", "timestamp": "2026-11-26T09:00:00.000+0000"}
    return e


def test_a_forged_ok_started_directly_does_not_resolve_the_real_page(run_scenario):
    report = run_scenario({"steps": [alarm("ALARM"), {"start": "respond", "input": _now_event("OK", "ALARM")}]})
    real, forged = executions(report, "-respond")
    assert forged["status"] == "SUCCEEDED" and forged["output"]["decision"] == "ignore"
    assert "not confirmed" in forged["output"]["message"] and "has been ALARM since" in forged["output"]["message"]
    # the real page was never resolved; the incident is still open (its re-check escalates it, as it should)
    assert "resolve" not in [p["kind"] for p in report["pages"]]
    assert [i for i in report["_table"] if i["pk"]["S"] == f"open#{CPU_HIGH}"]
    ignored = [r for r in audit_rows(report) if r.get("outcome", {}).get("S") == "ignore"]
    assert ignored and "not confirmed" in ignored[0]["message"]["S"]


def test_a_forged_alarm_raises_no_page_and_changes_nothing(run_scenario):
    report = run_scenario({"steps": [{"event": _now_event("ALARM", "OK"), "forged": True}]})
    [respond] = executions(report, "-respond")
    assert respond["output"]["decision"] == "ignore" and "not confirmed" in respond["output"]["message"]
    assert report["pages"] == [] and report["actions"] == []
    assert executions(report, "-scale-ecs-service") == []
