"""Bad input makes no AWS change, fails with an error that names the problem, and is recorded."""

import copy

from tests.e2e.conftest import CPU_HIGH, executions

GOOD_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "account": "111111111111",
    "time": "2026-11-26T09:00:00Z",
    "region": "eu-central-1",
    "resources": [f"arn:aws:cloudwatch:eu-central-1:111111111111:alarm:{CPU_HIGH}"],
    "detail": {
        "alarmName": CPU_HIGH,
        "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-11-26T09:00:00.000+0000"},
        "previousState": {"value": "OK", "reason": "ok", "timestamp": "2026-11-26T08:00:00.000+0000"},
        "configuration": {"description": "", "metrics": []},
    },
}


def audit_rows(report):
    return [i for i in report["_table"] if i["pk"]["S"].startswith("audit#")]


def test_a_raw_event_delivered_as_is_runs_the_automation(run_scenario):
    report = run_scenario({"steps": [{"event": GOOD_EVENT}]})
    assert [a["operation"] for a in report["actions"]] == ["UpdateService"]


def test_malformed_event_changes_nothing_and_records_the_error(run_scenario):
    event = copy.deepcopy(GOOD_EVENT)
    del event["detail"]["state"]
    report = run_scenario({"steps": [{"event": event}]})
    assert report["actions"] == []
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and respond["error"] == "AutomationFailed"
    assert "InvalidEvent" in respond["cause"] and "detail.state" in respond["cause"]
    # recorded in the audit trail, and never silent: "automation failed" is paged
    [row] = audit_rows(report)
    assert row["outcome"]["S"] == "failed" and row["error"]["S"] == "InvalidEvent"
    assert "detail.state" in row["message"]["S"]
    [page] = report["pages"]
    assert "automation failed" in page["payload"]["summary"] and "detail.state" in page["payload"]["summary"]


def test_another_customers_alarm_is_rejected(run_scenario):
    event = copy.deepcopy(GOOD_EVENT)
    event["detail"]["alarmName"] = "lecture-edt-lecture-backend-service-cpu-high"
    report = run_scenario({"steps": [{"event": event}]})
    # the rule does not even match it: nothing runs and nothing changes
    assert report["executions"] == [] and report["actions"] == []


def test_another_customers_alarm_reaching_admit_is_rejected_by_name(run_scenario):
    event = copy.deepcopy(GOOD_EVENT)
    event["account"] = "222222222222"
    report = run_scenario({"steps": [{"start": "respond", "input": event}]})
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and "account 222222222222" in respond["cause"]
    assert report["actions"] == []


def test_manual_start_with_a_missing_field_fails_with_a_clear_error(run_scenario):
    report = run_scenario({"steps": [{"start": "scale-ecs-service", "input": {"service": "lecture-backend-service"}}]})
    [run] = executions(report, "-scale-ecs-service")
    assert run["status"] == "FAILED" and run["error"] == "RunbookFailed"
    assert "InvalidInput" in run["cause"] and "give exactly one of 'delta' or 'desired'" in run["cause"]
    assert report["actions"] == []
    assert report["world"]["ecs"]["lecture-backend-service"]["desired"] == 2


def test_manual_start_with_an_unknown_service_names_the_configured_ones(run_scenario):
    report = run_scenario({"steps": [{"start": "scale-ecs-service", "input": {"service": "nope", "delta": 1}}]})
    [run] = executions(report, "-scale-ecs-service")
    assert run["status"] == "FAILED"
    assert "service 'nope' is not configured for customer dhbw" in run["cause"]
    assert "lecture-backend-service" in run["cause"] and report["actions"] == []


def test_manual_start_with_a_wrong_type_is_rejected(run_scenario):
    report = run_scenario(
        {"steps": [{"start": "scale-ecs-service", "input": {"service": "lecture-backend-service", "desired": "four"}}]}
    )
    [run] = executions(report, "-scale-ecs-service")
    assert run["status"] == "FAILED" and "field 'desired'" in run["cause"] and report["actions"] == []


def test_manual_start_to_an_absolute_count_scales_and_verifies(run_scenario):
    report = run_scenario(
        {"steps": [{"start": "scale-ecs-service", "input": {"service": "lecture-backend-service", "desired": 4}}]}
    )
    [run] = executions(report, "-scale-ecs-service")
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "scaled"
    assert [a["params"]["desiredCount"] for a in report["actions"]] == [4]
    assert report["world"]["ecs"]["lecture-backend-service"]["running"] == 4


def test_manual_start_above_the_maximum_is_refused(run_scenario):
    report = run_scenario(
        {"steps": [{"start": "scale-ecs-service", "input": {"service": "lecture-backend-service", "desired": 10}}]}
    )
    [run] = executions(report, "-scale-ecs-service")
    assert run["output"]["outcome"] == "refused" and "above the maximum of 6 tasks" in run["output"]["message"]
    assert report["actions"] == []


def test_a_manual_start_cannot_loosen_the_mode_switch(run_scenario):
    report = run_scenario(
        {
            "mode": "off",
            "steps": [
                {"start": "scale-ecs-service", "input": {"service": "lecture-backend-service", "delta": 1, "mode": "enforce"}}
            ],
        }
    )
    [run] = executions(report, "-scale-ecs-service")
    assert run["output"]["outcome"] == "refused" and "automation is off" in run["output"]["message"]
    assert report["actions"] == []


def test_a_failed_manual_start_is_in_the_audit_trail(run_scenario):
    report = run_scenario({"steps": [{"start": "scale-ecs-service", "input": {"service": "lecture-backend-service"}}]})
    [row] = audit_rows(report)
    assert row["outcome"]["S"] == "failed" and row["error"]["S"] == "InvalidInput"
    assert "give exactly one of 'delta' or 'desired'" in row["cause"]["S"]
