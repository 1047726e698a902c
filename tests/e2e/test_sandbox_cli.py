"""`python -m sandbox run|demo` as a user runs them: separate processes, their exit codes and what they print.
Apart from test_cli.py so that the two files run on two workers (each process here deploys a stack of its own)."""

import json
import subprocess
import sys

import pytest

from sandbox.synth import ROOT


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


def test_make_demos_command_runs_both_game_days_and_prints_their_summaries():
    proc = _sandbox("demo")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "ecs UpdateService" in out and "Snapshots after:" in out and "State backups after:" in out
    assert "PagerDuty: trigger 202 (lecture-dhbw/lecture-dhbw-lecture-backend-service-cpu-high)" in out
    assert "change 202" in out  # the change events of the scale, the snapshots and the backup
