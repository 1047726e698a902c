"""A deployed stack kept and put back (sandbox/snapshot.py): what the test suites start every test from.

A sandbox given the deployed snapshot must hold what a fresh deploy holds, and nothing a test did before."""

from sandbox.engine import Sandbox
from sandbox.world import World

SERVICE = "lecture-backend-service"


def _inventory(sb: Sandbox) -> dict:
    c = sb.client
    stack = c("cloudformation").describe_stacks(StackName="lecture-dhbw-remediation")["Stacks"][0]
    return {
        "stack": (
            stack["StackStatus"],
            sorted((o["OutputKey"], o["OutputValue"].split(":")[-1]) for o in stack.get("Outputs", [])),
        ),
        "resources": sorted(
            (r["LogicalResourceId"], r["ResourceType"])
            for r in c("cloudformation").list_stack_resources(StackName="lecture-dhbw-remediation")["StackResourceSummaries"]
        ),
        "state_machines": sorted(m["name"] for m in c("stepfunctions").list_state_machines()["stateMachines"]),
        "alarms": sorted(a["AlarmName"] for a in c("cloudwatch").describe_alarms(MaxRecords=100)["MetricAlarms"]),
        "functions": sorted(f["FunctionName"] for f in c("lambda").list_functions()["Functions"]),
        "rules": sorted(r["Name"] for r in c("events").list_rules()["Rules"]),
        "secrets": sorted(s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]),
        "mode": c("ssm").get_parameter(Name="/lecture/dhbw/remediation/mode")["Parameter"]["Value"],
    }


def test_a_sandbox_put_back_holds_what_a_fresh_deploy_holds(dhbw_assembly, dhbw_deployed, tmp_path):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path / "fresh", world=World()) as fresh:
        expected = _inventory(fresh)
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path / "kept", world=World(), deployed=dhbw_deployed) as kept:
        got = _inventory(kept)
        assert kept.timeline.render().count("deployed lecture-dhbw-remediation: ") == 1
    assert len(expected["resources"]) > 100 and len(expected["state_machines"]) == 13 and expected["alarms"]
    assert got == expected


def test_what_a_test_changes_is_gone_in_the_next_one(dhbw_assembly, dhbw_deployed, tmp_path):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path / "a", deployed=dhbw_deployed) as sb:
        assert sb.world_snapshot()["ecs"][SERVICE]["desired"] == 2
        run = sb.start_runbook("scale-ecs-service", {"service": SERVICE, "delta": 2})
        sb.wait_all()
        assert sb.world_snapshot()["ecs"][SERVICE]["desired"] == 4, run
        sb.set_mode("dry-run")
        assert sb.executions()
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path / "b", deployed=dhbw_deployed) as sb:
        assert sb.world_snapshot()["ecs"][SERVICE]["desired"] == 2
        assert sb.executions() == []
        mode = sb.client("ssm").get_parameter(Name="/lecture/dhbw/remediation/mode")["Parameter"]["Value"]
        assert mode == "enforce"
        audit = sb.client("dynamodb").scan(TableName="lecture-dhbw-remediation")["Items"]
        assert audit == []
        # and it still runs: the same runbook succeeds again from the same start
        sb.start_runbook("scale-ecs-service", {"service": SERVICE, "delta": 1})
        sb.wait_all()
        assert sb.world_snapshot()["ecs"][SERVICE]["desired"] == 3


def test_a_snapshot_of_other_customers_is_refused(dhbw_deployed, tmp_path):
    sb = Sandbox("edt", workdir=tmp_path, deployed=dhbw_deployed)
    try:
        sb.start()
    except ValueError as exc:
        assert "holds dhbw, not edt" in str(exc)
    else:
        sb.stop()
        raise AssertionError("a snapshot of dhbw was put back into edt's sandbox")
