"""Lambda invocations run concurrently in the sandbox, as in AWS, so game days can expose races."""

import os
import threading

from sandbox.moto_gaps import InProcessLambda
from tests.e2e.conftest import CPU_HIGH, executions


def test_two_deliveries_run_their_admit_invocations_at_the_same_time(run_scenario, monkeypatch):
    # given admit cannot finish until two admits are running at once (one at a time would break the barrier)
    barrier = threading.Barrier(2, timeout=120)
    original = InProcessLambda._run

    def _run(self, fn, event, response_headers):
        if fn.function_name.endswith("-admit"):
            barrier.wait()
        return original(self, fn, event, response_headers)

    monkeypatch.setattr(InProcessLambda, "_run", _run)
    # when the alarm event is delivered twice
    report = run_scenario({"steps": [{"alarm": CPU_HIGH, "deliveries": 2}]})
    # then both admits ran, and their invocations overlapped in time
    admits = [i for i in report["_invocations"] if i["function"].endswith("-admit")]
    assert [i["error"] for i in admits] == [None, None]
    first, second = admits
    assert first["started"] < second["ended"] and second["started"] < first["ended"]
    # and what holds under any interleaving: one incident, one change, one page delivered
    decisions = sorted(e["output"]["decision"] for e in executions(report, "-respond"))
    assert decisions == ["duplicate", "remediate"]
    assert [a["operation"] for a in report["actions"]] == ["UpdateService"]
    # (the alarm never went OK: at the end, the re-check escalates that same alert once)
    assert [(p["kind"], p["http_status"]) for p in report["pages"]] == [("trigger", 202), ("change", 202), ("trigger", 202)]
    assert report["pages"][2]["dedup_key"] == report["pages"][0]["dedup_key"]


def test_each_concurrent_invocation_sees_its_own_functions_environment(run_scenario, monkeypatch):
    # given: inside every invocation, note which function runs and what its environment says
    from sandbox import moto_gaps

    seen = []
    original = moto_gaps._powertools_logs_to

    def logs_to(stream):
        seen.append((moto_gaps.current_function(), os.environ.get("AWS_LAMBDA_FUNCTION_NAME")))
        original(stream)

    monkeypatch.setattr(moto_gaps, "_powertools_logs_to", logs_to)
    # when three deliveries run admit, page, record and the runbook concurrently
    report = run_scenario({"steps": [{"alarm": CPU_HIGH, "deliveries": 3}]})
    # then each invocation saw its own function's environment, and the process's stays clean
    assert len(seen) == len(report["_invocations"]) >= 6
    assert all(running == env_name for running, env_name in seen), seen
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
