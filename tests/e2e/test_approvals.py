"""Approvals, end to end on tune-lambda: the generic wait for a person (task token), its answers and time-out."""

import json

from tests.e2e.conftest import executions

# who answers: named approvers (user/approvers/* in customers/dhbw.yaml), as IAM verified them
ALICE = "arn:aws:iam::111111111111:user/approvers/alice"
BOB = "arn:aws:iam::111111111111:user/approvers/bob"

FN = "lecture-dhbw-function"
START = {
    "start": "tune-lambda",
    "input": {"function": FN, "memory_mb": 1024, "timeout_seconds": 60, "reason": "timeouts under exam load"},
}


def _lambda_changes(report):
    return [a for a in report["actions"] if a["service"] == "lambda"]


def _the_run(report):
    runs = executions(report, "-tune-lambda")
    assert len(runs) == 1, runs
    return runs[0]


def test_approved_change_is_made_and_records_who_approved_it(run_scenario):
    report = run_scenario({"steps": [START, {"approve": "tune-lambda", "by": "approvers/alice", "comment": "exam week"}]})
    run = _the_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "tuned", run
    assert run["output"]["approval"]["by"] == ALICE and run["output"]["approval"]["comment"] == "exam week"
    assert report["world"]["lambda"][FN] == {"runtime": "python3.12", "memory_mb": 1024, "timeout_seconds": 60}
    [change] = _lambda_changes(report)
    assert change["operation"] == "UpdateFunctionConfiguration"
    [approval] = report["approvals"]
    assert approval["runbook"] == "tune-lambda" and approval["answer"] == "approved"
    assert approval["by"] == ALICE and approval["comment"] == "exam week" and approval["requested"]
    # the approvers were told what will be done and how to answer: a low-urgency note, resolved once answered
    notes = [p for p in report["pages"] if (p.get("payload") or {}).get("class") == "approval"]
    assert len(notes) == 1 and notes[0]["payload"]["severity"] == "info"
    assert "memory 512 -> 1024 MB" in notes[0]["payload"]["summary"]
    assert "python cli.py approve" in notes[0]["payload"]["custom_details"]["approve"]
    assert [p["kind"] for p in report["pages"] if p.get("dedup_key") == notes[0]["dedup_key"]] == ["trigger", "resolve"]
    asked = [n for n in report["notifications"] if "waiting for approval" in n["message"]]
    assert len(asked) == 1 and "python cli.py reject" in asked[0]["message"]
    # the pending item is gone; the audit trail has the answer
    assert not [i for i in report["_table"] if i["pk"]["S"] == "approval#pending"]


def test_rejected_change_changes_nothing_and_ends_rejected_not_failed(run_scenario):
    report = run_scenario({"steps": [START, {"reject": "tune-lambda", "by": "approvers/bob", "comment": "not in exam week"}]})
    run = _the_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "rejected", run
    assert run["output"]["approval"]["answer"] == "rejected" and run["output"]["approval"]["by"] == BOB
    assert "not in exam week" in run["output"]["message"]
    assert _lambda_changes(report) == []
    assert report["world"]["lambda"][FN]["memory_mb"] == 512
    assert [(a["answer"], a["by"]) for a in report["approvals"]] == [("rejected", BOB)]
    assert not [i for i in report["_table"] if i["pk"]["S"].startswith("state#tune-lambda")]


def test_no_answer_in_time_is_a_rejection(run_scenario):
    report = run_scenario({"steps": [START, {"wait_minutes": 31}]})
    run = _the_run(report)
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "rejected", run
    assert run["output"]["approval"]["answer"] == "timed_out"
    assert _lambda_changes(report) == []
    assert [a["answer"] for a in report["approvals"]] == ["timed_out"]


def test_a_wait_shorter_than_the_timeout_leaves_the_approval_pending(run_scenario):
    report = run_scenario({"steps": [START, {"wait_minutes": 20}, {"approve": "tune-lambda", "by": "approvers/carol"}]})
    assert _the_run(report)["output"]["outcome"] == "tuned"


def test_a_function_changed_after_the_approval_was_asked_is_not_changed(run_scenario, dhbw_assembly, tmp_path):
    from sandbox.engine import Sandbox

    sb = Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path)
    sb.start()
    try:
        sb.start_runbook("tune-lambda", START["input"])
        # someone changes the function by hand while the approval waits
        sb.client("lambda").update_function_configuration(FunctionName=FN, MemorySize=768)
        sb.answer_approval("tune-lambda", approve=True, by="approvers/alice")
        report = sb.report()
    finally:
        sb.stop()
    run = _the_run(report)
    assert run["output"]["outcome"] == "target_changed", run
    assert "512 -> 768" in run["output"]["message"]
    assert report["world"]["lambda"][FN]["memory_mb"] == 768  # what the person set, not what was approved


def test_restore_puts_back_the_values_from_before_the_change(run_scenario):
    report = run_scenario(
        {
            "steps": [
                START,
                {"approve": "tune-lambda", "by": "approvers/alice"},
                {"start": "tune-lambda", "input": {"function": FN, "restore": True}},
                {"approve": "tune-lambda", "by": "approvers/bob"},
            ]
        }
    )
    first, second = executions(report, "-tune-lambda")
    assert first["output"]["outcome"] == second["output"]["outcome"] == "tuned"
    assert report["world"]["lambda"][FN]["memory_mb"] == 512 and report["world"]["lambda"][FN]["timeout_seconds"] == 30


def test_out_of_bounds_and_dry_run_ask_nobody(run_scenario):
    report = run_scenario(
        {
            "steps": [
                {"start": "tune-lambda", "input": {"function": FN, "memory_mb": 4096}},
                {"start": "tune-lambda", "input": {"function": FN, "memory_mb": 1024, "dry_run": True}},
            ]
        }
    )
    refused, dry = executions(report, "-tune-lambda")
    assert refused["output"]["outcome"] == "refused" and "outside 128..2048" in refused["output"]["message"]
    assert dry["output"]["outcome"] == "would_tune"
    assert report["approvals"] == [] and _lambda_changes(report) == []
    assert not [p for p in report["pages"] if (p.get("payload") or {}).get("class") == "approval"]


def test_answering_a_runbook_with_nothing_pending_is_a_clear_scenario_error(run_scenario):
    import pytest

    from sandbox.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="no approval of 'tune-lambda' is pending"):
        run_scenario({"steps": [{"approve": "tune-lambda"}]})
    json.dumps({})
