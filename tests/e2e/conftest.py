"""End-to-end: the synthesized dhbw stack deployed into the sandbox, driven by scenarios."""

import json

import pytest

from sandbox import scenario as scenarios
from sandbox.engine import Sandbox


@pytest.fixture
def run_scenario(dhbw_assembly, dhbw_deployed, tmp_path):
    """Run a scenario (a dict, as in a scenario file) to completion; returns (report, sandbox)."""

    def run(data: dict):
        scenario = scenarios.parse({"customer": "dhbw", **data})
        sb = Sandbox(
            scenario.customer,
            assembly=dhbw_assembly,
            workdir=tmp_path,
            mode=scenario.mode,
            world=scenario.world,
            deployed=dhbw_deployed if scenario.customer == "dhbw" else None,
        )
        sb.start()
        try:
            report = scenarios.run_steps(scenario, sb)
            report["_table"] = sb.client("dynamodb").scan(TableName="lecture-dhbw-remediation")["Items"]
            report["_simulated_seconds"] = sb.clock.simulated_seconds
            report["_timeline"] = sb.timeline.render()
            report["_invocations"] = list(sb.lambdas.invocations)
            report["_logs"] = [json.loads(line) for line in sb.lambdas.logs.getvalue().splitlines() if line.startswith("{")]
            return report
        finally:
            sb.stop()

    return run


CPU_HIGH = "lecture-dhbw-lecture-backend-service-cpu-high"
TASKS_LOW = "lecture-dhbw-lecture-backend-service-running-tasks-low"


def executions(report, state_machine_suffix):
    return [e for e in report["executions"] if e["state_machine"].endswith(state_machine_suffix)]


@pytest.fixture
def fleet(fleet_assembly, fleet_deployed, tmp_path):
    """Every customer and the ops account (issue 16), started from the deployed snapshot."""
    from tests.conftest import FLEET

    sb = Sandbox(FLEET, ops=True, assembly=fleet_assembly, workdir=tmp_path, deployed=fleet_deployed)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()
