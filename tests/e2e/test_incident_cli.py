"""The incident's record and the fleet commands (issue 16, items 5 and 6) against a sandbox: `incident ID`
(text, markdown, json) after a real run, `incidents --all` and `health-check --all` across customers."""

import json

import pytest

from sandbox.engine import Sandbox
from sandbox.synth import synthesized
from tests.e2e.test_operator_cli import CPU_HIGH, run

SERVICE = "lecture-backend-service"
TASKS_LOW = "lecture-dhbw-lecture-backend-service-running-tasks-low"


@pytest.fixture
def sandbox(dhbw_assembly, dhbw_deployed, tmp_path):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sb:
        yield sb


def respond_outputs(sb) -> list[dict]:
    return [e["output"] for e in sb.executions() if e["state_machine"].endswith("-respond")]


def test_incident_prints_the_whole_timeline_of_an_event_opened_incident(sandbox):
    # given: a task crash opens the incident, the alarm joins it, its OK resolves it
    sandbox.stop_tasks(SERVICE, 2)
    sandbox.fire_alarm(TASKS_LOW, "ALARM")
    sandbox.fire_alarm(TASKS_LOW, "OK")
    incident = respond_outputs(sandbox)[0]["incident_id"]
    # when
    code, out, err = run(["incident", incident, "-c", "dhbw"], sandbox.client)
    # then: one line per step, oldest first
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"incident {incident} (dhbw): closed, P1, ecs_service {SERVICE}")
    whats = [line.split()[1] for line in lines[2:]]
    assert whats[:4] == ["event", "admit", "page", "status"]
    assert whats.count("page") == 2 and whats.count("join") == 2 and whats[-3:] == ["resolve", "page", "status"]
    assert f"trigger lecture-dhbw/{TASKS_LOW}: PagerDuty answered success (Event processed)" in out
    assert f"resolve lecture-dhbw/{TASKS_LOW}: PagerDuty answered success" in out
    assert "ECS task stopped: task" in out and "Current Status: Investigating" in out and "Current Status: Resolved" in out

    # as JSON, for tools
    code, out, _ = run(["incident", incident, "-c", "dhbw", "--format", "json"], sandbox.client)
    rec = json.loads(out)
    assert code == 0 and rec["state"] == "closed" and rec["severity"] == "P1" and rec["alarms"] == [TASKS_LOW]
    assert [p["detail"].split()[0] for p in rec["pages"]] == ["trigger", "resolve"]
    assert json.loads(run(["--output", "json", "incident", incident, "-c", "dhbw"], sandbox.client)[1]) == rec


def test_incident_markdown_is_a_post_incident_review_with_the_runbook_run(sandbox):
    # given: CPU high scales the service (a runbook run), then clears
    sandbox.fire_alarm(CPU_HIGH, "ALARM")
    code, out, _ = run(["incidents", "-c", "dhbw", "--output", "json"], sandbox.client)
    [opened] = json.loads(out)
    assert code == 0 and opened["alarm"] == CPU_HIGH and opened["opened_by"] == "alarm"
    incident = opened["incident"]
    # when
    code, out, err = run(["incident", incident, "-c", "dhbw", "--format", "markdown"], sandbox.client)
    # then
    assert code == 0, err
    for heading in (
        "# Post-incident review: " + incident,
        "## Timeline",
        "## Impact",
        "## Affected customers",
        "## Actions taken",
        "## Open questions",
    ):
        assert heading in out
    assert "- Customer: dhbw" in out and "- Severity: P2" in out and "- State: open" in out
    assert "Performance degradation: lectures may load slowly (as the alarm kind states it; severity P2)" in out
    assert "| runbook | scale-ecs-service (" in out and "-> scaled:" in out
    actions = out.split("## Actions taken")[1].split("## Open questions")[0]
    assert "scale-ecs-service" in actions and "trigger lecture-dhbw/" in actions


def test_incident_of_a_runbook_run_by_hand_shows_who_approved_it_and_when(sandbox):
    # given: tune-lambda started by hand, approved by alice (any id with audit rows is an incident's)
    arn = sandbox.start_runbook(
        "tune-lambda", {"function": "lecture-dhbw-function", "memory_mb": 1024, "timeout_seconds": 60, "reason": "exam load"}
    )
    sandbox.answer_approval("tune-lambda", approve=True, by="approvers/alice", comment="exam week")
    execution = arn.rsplit(":", 1)[-1]
    # when
    code, out, err = run(["incident", execution, "-c", "dhbw", "--format", "json"], sandbox.client)
    # then
    assert code == 0, err
    rec = json.loads(out)
    [approval] = rec["approvals"]
    assert (
        "tune-lambda" in approval["detail"]
        and "approved by arn:aws:iam::111111111111:user/approvers/alice at 20" in approval["detail"]
    )
    assert approval["detail"].endswith(": exam week")
    assert [r["detail"].split(" -> ")[1].split(":")[0] for r in rec["runbooks"]] == ["tuned"]


def test_an_unknown_incident_is_a_clear_error(sandbox):
    code, out, err = run(["incident", "dhbw-nope", "-c", "dhbw"], sandbox.client)
    assert code == 1 and out == ""
    assert err.startswith("error: no incident 'dhbw-nope' in the audit trail of customer dhbw: ")
    assert err.endswith("`python cli.py incidents -c dhbw` lists the open ones\n")


# --- across customers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """dhbw and edt, each in its own account; unilux has no sandbox account here (unreachable)."""
    sb = Sandbox(["dhbw", "edt"], assembly=synthesized(), workdir=tmp_path_factory.mktemp("fleet"))
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def clients_of(sb):
    # each customer's own account; unilux gets dhbw's clients: the wrong account, refused before any read
    return lambda config, profile: sb.tenant(config.customer if config.customer in sb.tenants else "dhbw").client


def test_incidents_all_lists_open_incidents_across_customers_and_an_unreachable_one_as_a_row(fleet):
    fleet.stop_tasks(SERVICE, 2, customer="dhbw")
    code, out, err = run(["incidents", "--all"], None, clients_for=clients_of(fleet))
    rows = [line.split() for line in out.splitlines()[2:]]
    assert code == 2 and err == ""
    dhbw = [r for r in rows if r[0] == "dhbw"]
    assert len(dhbw) == 1 and dhbw[0][2] == "P1" and dhbw[0][-1] == TASKS_LOW and "ecs-task-stopped" in dhbw[0]
    assert [r for r in rows if r[0] == "edt"] == [["edt", "none"]]
    assert "error: wrong AWS account for customer unilux" in out
    code, out, _ = run(["incidents", "-c", "edt", "--output", "json"], None, clients_for=clients_of(fleet))
    assert code == 0 and json.loads(out) == []


def test_health_check_all_runs_each_customers_health_check_and_prints_one_table(fleet):
    code, out, err = run(["health-check", "--all"], None, clients_for=clients_of(fleet))
    lines = out.splitlines()
    assert lines[0].split() == ["customer", "outcome", "check", "detail"]
    by = {}
    for line in lines[2:]:
        by.setdefault(line.split()[0], []).append(line)
    assert sorted(by) == ["dhbw", "edt", "unilux"]
    for customer in ("dhbw", "edt"):
        assert any(f"PASS rds:lecture-{customer}-cluster" in line for line in by[customer])
    assert "unreachable" in by["unilux"][0] and "wrong AWS account for customer unilux" in by["unilux"][0]
    assert code != 0  # a customer unreachable is a failure of the fleet's health check
    # each customer's own runbook ran in its own account
    ran = [e for e in fleet.executions("edt") if e["state_machine"] == "lecture-edt-health-check"]
    assert len(ran) == 1 and ran[0]["status"] == "SUCCEEDED"
    code, out, _ = run(["health-check", "-c", "edt", "--output", "json"], None, clients_for=clients_of(fleet))
    [row] = json.loads(out)
    assert row["customer"] == "edt" and row["status"] == "SUCCEEDED" and row["checks"]
    assert code == (0 if row["outcome"] == "healthy" else 1)
