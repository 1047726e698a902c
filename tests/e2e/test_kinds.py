"""Diagnosis of every kind on the page, end to end: the synthesized dhbw stack in the sandbox.

A diagnostic call that fails never blocks the page: the page goes out and names the missing part and why."""

from tests.e2e.conftest import CPU_HIGH, TASKS_LOW, executions

FUNCTION = "lecture-dhbw-function"
SERVICE = "lecture-backend-service"


def trigger(report) -> dict:
    # the alarm's page (an ECS alarm that stays in ALARM is escalated at the end: a later trigger)
    page = next(p for p in report["pages"] if p.get("event_action") == "trigger")
    return page["payload"]


def test_a_lambda_errors_alarm_pages_with_the_functions_diagnosis_and_changes_nothing(run_scenario):
    # given dhbw's function with a reserved concurrency, and errors in its recent metrics
    world = {"lambda": {FUNCTION: {"memory_mb": 1024, "reserved_concurrency": 5, "errors": 7, "throttles": 2}}}
    report = run_scenario(
        {"world": world, "steps": [{"alarm": f"{FUNCTION}-errors"}, {"alarm": f"{FUNCTION}-errors", "state": "OK"}]}
    )
    # then one P2 page with the function's configuration and recent errors and throttles, then its resolve
    assert [p["event_action"] for p in report["pages"]] == ["trigger", "resolve"]
    page = trigger(report)
    assert page["severity"] == "warning" and page["custom_details"]["priority"] == "P2"
    diagnosis = page["custom_details"]["diagnosis"]
    assert diagnosis["configuration"]["timeout_seconds"] == 30 and diagnosis["configuration"]["memory_mb"] == 1024
    assert diagnosis["configuration"]["reserved_concurrency"] == 5
    assert (diagnosis["metrics"]["errors"], diagnosis["metrics"]["throttles"]) == (7, 2)
    assert "missing" not in diagnosis
    # and no runbook ran, no AWS change was made
    assert report["actions"] == [] and len(report["executions"]) == 2
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
    assert [e["output"]["decision"] for e in executions(report, "-respond")][0] == "page"
    assert report["world"]["lambda"][FUNCTION]["timeout_seconds"] == 30


def test_a_function_that_cannot_be_read_still_pages_and_the_page_names_the_missing_part(run_scenario):
    report = run_scenario(
        {"world": {"lambda": {FUNCTION: {"exists": False, "throttles": 4}}}, "steps": [{"alarm": f"{FUNCTION}-throttles"}]}
    )
    diagnosis = trigger(report)["custom_details"]["diagnosis"]
    assert "ResourceNotFoundException" in diagnosis["missing"]["configuration"]
    assert diagnosis["metrics"]["throttles"] == 4  # the part that could be read still travels
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}


def test_the_ecs_page_carries_the_task_definition_and_the_last_log_lines(run_scenario):
    lines = ["ERROR boot failed: DATABASE_URL is not set"] * 3
    report = run_scenario({"world": {"ecs": {SERVICE: {"log_lines": lines}}}, "steps": [{"alarm": CPU_HIGH}]})
    diagnosis = trigger(report)["custom_details"]["diagnosis"]
    assert (diagnosis["task_definition"]["cpu"], diagnosis["task_definition"]["memory"]) == ("256", "512")
    assert diagnosis["logs"]["log_group"] == f"/ecs/{SERVICE}" and diagnosis["logs"]["lines"] == lines


def test_a_missing_log_group_never_blocks_the_page_which_names_it(run_scenario):
    # given the service's log group is missing: the diagnosis's log read fails
    report = run_scenario({"world": {"ecs": {SERVICE: {"log_group_exists": False}}}, "steps": [{"alarm": TASKS_LOW}]})
    # then the P1 page still went out, with the rest of the diagnosis and the failed part named with why
    page = trigger(report)
    assert page["custom_details"]["priority"] == "P1"
    diagnosis = page["custom_details"]["diagnosis"]
    assert f"/ecs/{SERVICE}" in diagnosis["missing"]["logs"] and "does not exist" in diagnosis["missing"]["logs"]
    assert diagnosis["desired"] == 2 and diagnosis["task_definition"]["memory"] == "512" and "logs" not in diagnosis
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
