"""The operators' CLI and the sandbox CLI, end to end."""

import json

import boto3
import pytest

import cli
from sandbox import scenario as scenarios
from sandbox.engine import Sandbox
from sandbox.synth import ROOT

# the game days of several customers (and the ops account) run from the fleet's snapshot: tests/e2e/test_fleet.py
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.*") if not scenarios.load(p).customers)


def test_cli_rejects_a_bad_input_before_calling_aws(capsys):
    # given no AWS session at all: a call would fail loudly
    code = cli.main(
        ["start", "scale-ecs-service", "-c", "dhbw", "--input", '{"service": "lecture-backend-service"}'], session=object()
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "give exactly one of 'delta' or 'desired'" in err and "example" in err


def test_cli_rejects_an_unknown_runbook_and_customer(capsys):
    assert cli.main(["start", "restart-everything", "-c", "dhbw", "--input", "{}"], session=object()) == 2
    err = capsys.readouterr().err  # the runbooks register by name (catalog/runbooks/<name>.py): every one is named
    assert "unknown runbook 'restart-everything'; known: " in err
    assert all(name in err.split("known: ", 1)[1] for name in ("scale-ecs-service", "tune-lambda", "health-check"))
    assert cli.main(["mode", "-c", "nope"], session=object()) == 2
    assert "known customers: dhbw, edt, unilux" in capsys.readouterr().err


def test_cli_starts_a_runbook_and_sets_the_mode_in_the_deployed_stack(dhbw_assembly, dhbw_deployed, tmp_path, capsys):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sb:
        key = sb.aws.keys(sb.config.account)  # credentials of dhbw's account, as its profile holds them
        session = boto3.Session(aws_access_key_id=key["id"], aws_secret_access_key=key["secret"], region_name=sb.config.region)
        assert cli.main(["mode", "-c", "dhbw", "dry-run"], session=session) == 0
        assert capsys.readouterr().out.strip() == "dry-run"
        assert cli.main(["mode", "-c", "dhbw", "enforce"], session=session) == 0
        capsys.readouterr()
        code = cli.main(
            ["start", "scale-ecs-service", "-c", "dhbw", "--input", '{"service": "lecture-backend-service", "delta": 2}'],
            session=session,
        )
        result = json.loads(capsys.readouterr().out)
        assert code == 0 and result["status"] == "SUCCEEDED" and result["output"]["outcome"] == "scaled"
        assert sb.world_snapshot()["ecs"]["lecture-backend-service"]["desired"] == 4


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_every_shipped_scenario_runs_and_meets_its_expectations(path, dhbw_assembly, dhbw_deployed, tmp_path):
    scenario = scenarios.load(path)
    assert scenario.expect is not None and scenario.expect.executions, "a shipped game day asserts its outcome"
    with Sandbox(
        scenario.customer,
        assembly=dhbw_assembly,
        workdir=tmp_path,
        mode=scenario.mode,
        world=scenario.world,
        deployed=dhbw_deployed if scenario.customer == "dhbw" else None,
    ) as sb:
        report = scenarios.run_steps(scenario, sb)
    assert report["executions"], "a scenario that runs nothing is not a game day"
    assert scenarios.check_expectations(scenario, report) == []


def test_cli_rejects_a_service_the_customer_does_not_have(capsys):
    code = cli.main(["start", "scale-ecs-service", "-c", "dhbw", "--input", '{"service": "nope", "delta": 1}'], session=object())
    assert code == 2
    assert "service 'nope' is not configured for customer dhbw (configured: lecture-backend-service)" in capsys.readouterr().err
