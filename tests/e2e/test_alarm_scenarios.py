"""Alarm-driven incidents through the deployed respond workflow."""

from tests.e2e.conftest import CPU_HIGH, TASKS_LOW, executions


def alarm(name, state="ALARM", deliveries=1):
    return {"alarm": name, "state": state, "deliveries": deliveries}


def test_alarm_then_ok_scales_out_once_pages_and_resolves(run_scenario):
    # given dhbw's backend at 2 tasks (min 2, max 6)
    report = run_scenario(
        {"world": {"ecs": {"lecture-backend-service": {"desired": 2}}}, "steps": [alarm(CPU_HIGH), alarm(CPU_HIGH, "OK")]}
    )
    # then exactly one scale-out to 3
    assert [(a["service"], a["operation"], a["params"]) for a in report["actions"]] == [
        ("ecs", "UpdateService", {"cluster": "lecture-dhbw-cluster", "service": "lecture-backend-service", "desiredCount": 3})
    ]
    assert report["world"]["ecs"]["lecture-backend-service"] == {"desired": 3, "running": 3, "min": 2, "max": 6}
    # and one trigger then one resolve, on the same dedup_key
    # (and the scale as a change event on PagerDuty's timeline in between)
    assert [p["kind"] for p in report["pages"]] == ["trigger", "change", "resolve"]
    assert report["pages"][0]["dedup_key"] == report["pages"][-1]["dedup_key"]
    trigger = report["pages"][0]["payload"]
    assert trigger["severity"] == "warning" and trigger["custom_details"]["priority"] == "P2"
    assert trigger["custom_details"]["diagnosis"]["desired"] == 2  # the diagnosis travels with the page
    # and every execution succeeded, the runbook as a child named after the incident
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
    runbook = executions(report, "-scale-ecs-service")
    assert len(runbook) == 1 and runbook[0]["output"]["outcome"] == "scaled"
    statuses = [n["message"].split("Current Status: ")[1].splitlines()[0] for n in report["notifications"]]
    assert statuses == ["Identified", "Monitoring", "Resolved"]


def test_the_same_alarm_event_delivered_three_times_acts_and_pages_once(run_scenario):
    report = run_scenario({"steps": [alarm(CPU_HIGH, deliveries=3), alarm(CPU_HIGH, "OK")]})
    assert [a["operation"] for a in report["actions"]] == ["UpdateService"]
    # exactly one alert delivered: one request, answered 202 (then the change event, and the OK's resolve)
    assert [(p["kind"], p["http_status"]) for p in report["pages"]] == [("trigger", 202), ("change", 202), ("resolve", 202)]
    decisions = sorted((e["output"] or {}).get("decision") for e in executions(report, "-respond"))
    assert decisions == ["duplicate", "duplicate", "remediate", "resolve"]
    assert report["world"]["ecs"]["lecture-backend-service"]["desired"] == 3


def test_service_at_maximum_is_refused_explicitly_and_paged(run_scenario):
    report = run_scenario({"world": {"ecs": {"lecture-backend-service": {"desired": 6}}}, "steps": [alarm(CPU_HIGH)]})
    assert report["actions"] == []
    [runbook] = executions(report, "-scale-ecs-service")
    assert runbook["output"]["outcome"] == "refused"
    assert "already at its maximum of 6 tasks" in runbook["output"]["message"]
    # the refusal is paged on the same alert, not just logged
    assert [p["kind"] for p in report["pages"]] == ["trigger", "trigger"]
    assert "already at its maximum of 6 tasks" in report["pages"][1]["payload"]["summary"]
    assert report["world"]["ecs"]["lecture-backend-service"]["desired"] == 6


def test_dry_run_changes_nothing_and_says_what_it_would_do(run_scenario):
    report = run_scenario({"mode": "dry-run", "steps": [alarm(CPU_HIGH)]})
    assert report["actions"] == []
    [runbook] = executions(report, "-scale-ecs-service")
    assert runbook["output"]["outcome"] == "would_scale"
    assert "would scale lecture-backend-service from 2 to 3 tasks" in runbook["output"]["message"]
    [respond] = executions(report, "-respond")
    assert respond["output"]["outcome"] == "would_scale"
    assert report["world"]["ecs"]["lecture-backend-service"]["desired"] == 2
    assert "dry-run" in report["pages"][0]["payload"]["summary"]


def test_running_tasks_low_pages_p1_without_scaling(run_scenario):
    report = run_scenario({"steps": [alarm(TASKS_LOW)]})
    assert report["actions"] == []
    assert executions(report, "-scale-ecs-service") == []
    [page] = report["pages"]
    assert page["payload"]["severity"] == "error" and page["payload"]["custom_details"]["priority"] == "P1"
    assert "crash loop" in page["payload"]["summary"]


def test_mode_off_pages_but_does_not_act(run_scenario):
    report = run_scenario({"mode": "off", "steps": [alarm(CPU_HIGH)]})
    assert report["actions"] == [] and executions(report, "-scale-ecs-service") == []
    assert "automation is off" in report["pages"][0]["payload"]["summary"]


def test_second_episode_within_cooldown_is_refused_and_paged(run_scenario):
    report = run_scenario({"steps": [alarm(CPU_HIGH), alarm(CPU_HIGH, "OK"), alarm(CPU_HIGH)]})
    assert [a["params"]["desiredCount"] for a in report["actions"]] == [3]
    second = executions(report, "-scale-ecs-service")[-1]
    assert second["output"]["outcome"] == "refused" and "in cooldown until" in second["output"]["message"]
    assert "in cooldown until" in report["pages"][-1]["payload"]["summary"]


def test_tasks_that_never_start_time_out_with_the_deployment_state_paged(run_scenario):
    report = run_scenario(
        {"world": {"ecs": {"lecture-backend-service": {"desired": 2, "tasks_fail_to_start": True}}}, "steps": [alarm(CPU_HIGH)]}
    )
    [runbook] = executions(report, "-scale-ecs-service")
    out = runbook["output"]
    assert out["outcome"] == "timed_out" and out["polls"] == out["max_polls"] == 20
    assert "2 of 3 running" in out["message"] and "CannotPullContainerError" in out["message"]
    assert "did not settle" in report["pages"][-1]["payload"]["summary"]
    # 20 polls 15 s apart ran in compressed time, as deployed
    assert report["_simulated_seconds"] >= 20 * 15


def test_autoscaling_floor_is_raised_with_the_service(run_scenario):
    report = run_scenario(
        {"world": {"ecs": {"lecture-backend-service": {"desired": 2, "autoscaling": True}}}, "steps": [alarm(CPU_HIGH)]}
    )
    assert [a["operation"] for a in report["actions"]] == ["RegisterScalableTarget", "UpdateService"]
    assert report["world"]["ecs"]["lecture-backend-service"]["autoscaling"] == {"min": 3, "max": 6}


def test_pagerduty_outage_does_not_hold_back_the_remediation_and_is_not_silent(run_scenario):
    report = run_scenario({"world": {"pagerduty": {"fail_status": 503}}, "steps": [alarm(CPU_HIGH)]})
    # the service is still scaled out
    assert [a["operation"] for a in report["actions"]] == ["UpdateService"]
    assert report["world"]["ecs"]["lecture-backend-service"]["desired"] == 3
    # every page was attempted with bounded retries (3 per page), none was accepted
    assert len(report["pages"]) >= 3 and len(report["pages"]) % 3 == 0
    assert {p["http_status"] for p in report["pages"]} == {503}
    # the execution fails loudly, and the status topic says why
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and "PagingFailed" in respond["cause"]
    assert "outcome: scaled" in respond["cause"]
    failed_updates = [n for n in report["notifications"] if "automation failed" in n["message"]]
    assert failed_updates and "PagerDuty unavailable after 3 attempts" in failed_updates[-1]["message"]


def test_ok_after_insufficient_data_still_resolves_the_open_incident(run_scenario):
    report = run_scenario({"steps": [alarm(CPU_HIGH), alarm(CPU_HIGH, "INSUFFICIENT_DATA"), alarm(CPU_HIGH, "OK")]})
    # (and the scale as a change event on PagerDuty's timeline in between)
    assert [p["kind"] for p in report["pages"]] == ["trigger", "change", "resolve"]
    assert report["pages"][0]["dedup_key"] == report["pages"][-1]["dedup_key"]
    resolved = executions(report, "-respond")[-1]["output"]
    trigger_incident = report["pages"][0]["payload"]["custom_details"]["incident_id"]
    assert resolved["outcome"] == "resolved" and resolved["incident_id"] == trigger_incident


def test_handlers_log_with_the_incident_as_correlation_id_and_emit_metrics(run_scenario):
    report = run_scenario({"steps": [alarm(CPU_HIGH)]})
    incident = report["pages"][0]["payload"]["custom_details"]["incident_id"]
    logs = [line for line in report["_logs"] if "level" in line]
    by_message = {line["message"]: line for line in logs}
    for message in ("admitted", "paged", "recorded"):
        assert by_message[message]["correlation_id"] == incident, message
    assert any(line.get("runbook") == "scale-ecs-service" and line["correlation_id"] == incident for line in logs)
    metrics = [line for line in report["_logs"] if "_aws" in line]
    names = {m["Name"] for line in metrics for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"decision_remediate", "page_trigger", "outcome_scaled"} <= names
    assert {d["Namespace"] for line in metrics for d in line["_aws"]["CloudWatchMetrics"]} == {"LectureRemediation"}
