"""The operators' CLI and the sandbox CLI, end to end."""

import json
import subprocess
import sys

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


def test_sandbox_run_with_unmet_expectations_exits_3_and_says_what_differed(tmp_path):
    # given the at-maximum game day, expecting a scale-out that the guard refuses
    data = json.loads((ROOT / "scenarios" / "at-maximum.json").read_text())
    data["expect"] = {
        "executions": {"scale-ecs-service": [{"status": "SUCCEEDED", "outcome": "scaled"}]},
        "actions": 1,
        "pages": {"trigger 202": 1},
        "world": {"ecs": {"lecture-backend-service": {"desired": 7}}},
    }
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(data))
    # when
    proc = _sandbox("run", str(path))
    # then every difference is named, and the exit code says the game day failed
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "expectations not met" in proc.stderr
    assert "executions.scale-ecs-service[0]: expected outcome 'scaled', got 'refused'" in proc.stderr
    assert "actions: expected 1 AWS change(s), got 0: none" in proc.stderr
    assert "pages: expected {'trigger 202': 1}, got {'trigger 202': 2}" in proc.stderr
    assert "world.ecs.lecture-backend-service.desired: expected 7, got 6" in proc.stderr


def _sandbox(*args):
    return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_sandbox_run_prints_a_json_report_and_exits_0(tmp_path):
    proc = _sandbox("run", str(ROOT / "scenarios" / "at-maximum.json"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert set(report) == {"customer", "executions", "actions", "pages", "notifications", "sns_pages", "world", "approvals"}
    assert report["actions"] == [] and "already at its maximum of 6 tasks" in report["pages"][-1]["payload"]["summary"]


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"customer": "dhbw", "steps": []}', "field 'steps': List should have at least 1 item"),
        (
            '{"customer": "dhbw", "steps": [{"jump": 1}]}',
            "steps[0] must have one of 'alarm', 'event', 'schedule', 'start', 'mode', 'approve', 'reject', 'stop_tasks', "
            "'service_action', 'rds_event' or 'wait_minutes'",
        ),
        ('{"customer": "nope", "steps": [{"mode": "off"}]}', "unknown customer 'nope'"),
        ('{"customer": "dhbw", "mode": "maybe", "steps": [{"mode": "off"}]}', "field 'mode': Input should be"),
        (
            '{"customer": "dhbw", "world": {"ecs": {"lecture-backend-service": {"max": 9}}}, "steps": [{"mode": "off"}]}',
            "world.ecs.lecture-backend-service.max is 9 but customers/dhbw.yaml sets max_tasks 6",
        ),
        ('{"customer": "dhbw", "steps": [{"alarm": "lecture-dhbw-nope"}]}', "alarm 'lecture-dhbw-nope' is not deployed"),
        ("{not json", "not valid JSON"),
    ],
)
def test_sandbox_run_with_an_invalid_scenario_exits_1_and_says_why(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    proc = _sandbox("run", str(path))
    assert proc.returncode == 1
    assert expected in proc.stderr


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_sandbox_run_with_a_file_that_is_not_utf8_exits_1_and_says_why(tmp_path, suffix):
    # given a scenario saved as Latin-1 ("Größe" in a reason)
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes('{"customer": "dhbw", "steps": [{"mode": "off", "reason": "Gr\u00f6\u00dfe"}]}'.encode("latin-1"))
    # when
    proc = _sandbox("run", str(path))
    # then the same clear error as any bad file, no traceback
    assert proc.returncode == 1
    assert f"invalid scenario: {path}: not UTF-8 text: byte 0xf6 at offset" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_rejects_a_service_the_customer_does_not_have(capsys):
    code = cli.main(["start", "scale-ecs-service", "-c", "dhbw", "--input", '{"service": "nope", "delta": 1}'], session=object())
    assert code == 2
    assert "service 'nope' is not configured for customer dhbw (configured: lecture-backend-service)" in capsys.readouterr().err


def test_make_demos_command_runs_both_game_days_and_prints_their_summaries():
    proc = _sandbox("demo")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "ecs UpdateService" in out and "Snapshots after:" in out and "State backups after:" in out
    assert "PagerDuty: trigger 202 (lecture-dhbw/lecture-dhbw-lecture-backend-service-cpu-high)" in out
    assert "change 202" in out  # the change events of the scale, the snapshots and the backup
