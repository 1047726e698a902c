"""Down in seconds (issue 16, item 4): ECS and RDS events open the incident of the "down" alarm kind before the
alarm can, and the alarm then joins it: one incident, one page."""

from sandbox.eventbus import ecs_task_stopped_event
from tests.e2e.conftest import TASKS_LOW, executions
from tests.e2e.test_bad_input import audit_rows

SERVICE = "lecture-backend-service"
CLUSTER_DOWN = "lecture-dhbw-cluster-cluster-unavailable"


def triggers(report) -> list[dict]:
    return [p for p in report["pages"] if p.get("event_action") == "trigger" and p.get("http_status") == 202]


def resolves(report) -> list[dict]:
    return [p for p in report["pages"] if p.get("event_action") == "resolve" and p.get("http_status") == 202]


def open_rows(report) -> list[dict]:
    return [i for i in report["_table"] if i["pk"]["S"].startswith("open#")]


def test_a_stopped_task_opens_the_incident_before_the_alarm_and_the_alarm_joins_it(run_scenario):
    report = run_scenario(
        {
            "world": {"ecs": {SERVICE: {"desired": 2}}},
            "steps": [
                {"stop_tasks": SERVICE, "count": 2},
                {"alarm": TASKS_LOW, "state": "ALARM"},
            ],
        }
    )
    runs = executions(report, "-respond")
    assert [r["output"]["decision"] for r in runs] == ["page", "join", "join"]
    first = runs[0]["output"]
    assert first["outcome"] == "paged" and "ECS task stopped" in first["message"]
    incident = first["incident_id"]
    assert incident.startswith("dhbw-") and "-running-tasks-low-" in incident
    # the second task's event and then the alarm join the same incident: exactly one page, on the alarm's dedup_key
    assert all(r["output"]["incident_id"] == incident for r in runs)
    [page] = triggers(report)
    assert page["dedup_key"] == f"lecture-dhbw/{TASKS_LOW}"
    assert page["payload"]["severity"] == "error"  # P1: single customer down
    assert page["payload"]["custom_details"]["service_event"]["kind"] == "ecs-task-stopped"
    assert "Essential container in task exited" in page["payload"]["summary"]
    # one incident open, the alarm's own row; nothing changed in the world by the automation
    [row] = open_rows(report)
    assert row["pk"]["S"] == f"open#{TASKS_LOW}" and row["incident_id"]["S"] == incident
    assert row["opened_by"]["S"] == "ecs-task-stopped"
    assert report["actions"] == []
    assert report["world"]["ecs"][SERVICE]["running"] == 0


def test_the_alarms_ok_resolves_the_incident_an_event_opened(run_scenario):
    report = run_scenario(
        {
            "steps": [
                {"stop_tasks": SERVICE, "count": 2},
                {"alarm": TASKS_LOW, "state": "ALARM"},
                {"alarm": TASKS_LOW, "state": "OK"},
            ],
        }
    )
    runs = executions(report, "-respond")
    assert [r["output"]["decision"] for r in runs] == ["page", "join", "join", "resolve"]
    assert len(triggers(report)) == 1
    [resolved] = resolves(report)
    assert resolved["dedup_key"] == f"lecture-dhbw/{TASKS_LOW}"
    assert open_rows(report) == []


def test_one_task_stopped_of_two_is_recorded_not_paged(run_scenario):
    report = run_scenario({"world": {"ecs": {SERVICE: {"desired": 2}}}, "steps": [{"stop_tasks": SERVICE, "count": 1}]})
    [run] = executions(report, "-respond")
    assert run["output"]["decision"] == "ignore"
    assert "not down: 1 of 2 tasks of lecture-backend-service still run" in run["output"]["message"]
    assert triggers(report) == [] and open_rows(report) == []
    assert len([r for r in audit_rows(report) if r["outcome"]["S"] == "ignore"]) == 1


def test_a_planned_stop_opens_no_incident(run_scenario):
    report = run_scenario(
        {
            "steps": [
                {
                    "stop_tasks": SERVICE,
                    "count": 2,
                    "reason": "Scaling activity initiated by (deployment ecs-svc/5520483541926208383)",
                }
            ]
        }
    )
    # the rule leaves a planned stop out: nothing starts, nothing is paged
    assert report["executions"] == [] and report["pages"] == []
    assert open_rows(report) == []


def test_a_service_that_cannot_start_its_tasks_opens_the_incident_and_steady_state_resolves_it(run_scenario):
    report = run_scenario(
        {
            "world": {"ecs": {SERVICE: {"desired": 2, "running": 0}}},
            "steps": [
                {"service_action": SERVICE, "event_name": "SERVICE_TASK_START_IMPAIRED"},
                {"service_action": SERVICE, "event_name": "SERVICE_STEADY_STATE"},
            ],
        }
    )
    runs = executions(report, "-respond")
    assert [r["output"]["decision"] for r in runs] == ["page", "resolve"]
    assert runs[0]["output"]["incident_id"] == runs[1]["output"]["incident_id"]
    assert len(triggers(report)) == 1 and len(resolves(report)) == 1
    assert open_rows(report) == []


def test_an_aurora_failover_opens_an_incident_and_its_completion_resolves_it(run_scenario):
    report = run_scenario({"steps": [{"rds_event": "RDS-EVENT-0073"}, {"rds_event": "RDS-EVENT-0071"}]})
    runs = executions(report, "-respond")
    assert [r["output"]["decision"] for r in runs] == ["page", "resolve"]
    [page] = triggers(report)
    assert page["dedup_key"] == f"lecture-dhbw/{CLUSTER_DOWN}"
    assert "RDS-EVENT-0073" in page["payload"]["summary"]
    assert [p["dedup_key"] for p in resolves(report)] == [f"lecture-dhbw/{CLUSTER_DOWN}"]
    assert open_rows(report) == []


def test_a_malformed_service_event_is_refused_with_an_audit_row_and_a_status_line(run_scenario):
    task = {
        "clusterArn": "arn:aws:ecs:eu-central-1:111111111111:cluster/lecture-dhbw-cluster",
        "taskArn": "arn:aws:ecs:eu-central-1:111111111111:task/lecture-dhbw-cluster/0123",
        "group": f"service:{SERVICE}",
        "stoppedReason": "Essential container in task exited",
    }
    event = ecs_task_stopped_event(task, "111111111111", "eu-central-1")
    del event["detail"]["taskArn"]  # the rule still matches; admit cannot read it
    report = run_scenario({"steps": [{"event": event}]})
    [run] = executions(report, "-respond")
    assert run["status"] == "FAILED" and "InvalidEvent" in run["cause"] and "detail.taskArn" in run["cause"]
    [row] = audit_rows(report)
    assert row["outcome"]["S"] == "failed" and "detail.taskArn" in row["message"]["S"]
    assert any("detail.taskArn" in n["message"] for n in report["notifications"])
    assert open_rows(report) == [] and report["actions"] == []
