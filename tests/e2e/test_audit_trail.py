"""Issue 15, Medium 2 in the sandbox: the audit trail is a hash chain, `cli.py audit verify` checks it, and an edited
row (an attacker's direct UpdateItem: moto does not enforce the table's resource policy, tests/infra proves it) is
found and named."""

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from catalog import audit_chain, naming
from sandbox import schedules
from sandbox.engine import Sandbox
from sandbox.eventbus import resource_policy_event, scheduled_event
from sandbox.moto_gaps import InProcessLambda
from sandbox.synth import ROOT
from tests.e2e.conftest import CPU_HIGH, executions
from tests.e2e.test_operator_cli import SERVICE, run

TABLE = "lecture-dhbw-remediation"


@pytest.fixture
def sandbox(dhbw_assembly, dhbw_deployed, tmp_path):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sb:
        yield sb


def audit_items(sb):
    items = sb.client("dynamodb").scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("audit#")]


def test_audit_verify_passes_on_the_chain_the_automation_wrote_and_names_an_edited_row(sandbox):
    # given two runbook executions (their Report rows come through the audit function), and a mode change
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1"], sandbox.client)[0] == 0
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "desired=5"], sandbox.client)[0] == 0
    rows = audit_items(sandbox)
    assert len(rows) == 2 and sorted(int(r["chain_seq"]["N"]) for r in rows) == [1, 2]
    assert all("expires_at" not in r for r in rows)
    # when the operator verifies the chain
    code, out, err = run(["audit", "verify", "-c", "dhbw"], sandbox.client)
    # then it holds, with the count
    assert (code, out.strip()) == (0, "audit trail of dhbw: 2 rows, the chain is intact"), err
    code, out, _ = run(["audit", "verify", "-c", "dhbw", "--output", "json"], sandbox.client)
    assert code == 0 and json.loads(out) == {"customer": "dhbw", "rows": 2, "intact": True, "broken": None}

    # when an attacker rewrites the first run's outcome with a direct UpdateItem
    [first] = [r for r in rows if r["chain_seq"]["N"] == "1"]
    assert first["outcome"]["S"] == "scaled"
    sandbox.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": first["pk"], "sk": first["sk"]},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "refused"}},
    )
    # then verify exits 1 naming that row: its key, its time, what is wrong
    code, out, _ = run(["audit", "verify", "-c", "dhbw"], sandbox.client)
    time = first["sk"]["S"].removesuffix("#report")
    assert code == 1
    assert out.strip() == (
        f"audit trail of dhbw: the chain is broken at {first['pk']['S']} {first['sk']['S']} ({time}): "
        "edited: its digest does not match its content (2 rows read)"
    )
    code, out, _ = run(["audit", "verify", "-c", "dhbw", "--output", "json"], sandbox.client)
    found = json.loads(out)
    assert code == 1 and found["intact"] is False
    assert found["broken"] == {
        "pk": first["pk"]["S"],
        "sk": first["sk"]["S"],
        "time": time,
        "problem": "edited: its digest does not match its content",
    }


def test_a_deleted_row_is_found_missing(sandbox):
    for delta in (1, -1):
        assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", f"delta={delta}"], sandbox.client)[0] == 0
    rows = sorted(audit_items(sandbox), key=lambda r: int(r["chain_seq"]["N"]))
    # when an attacker deletes the last row (the head still names it)
    sandbox.client("dynamodb").delete_item(TableName=TABLE, Key={"pk": rows[-1]["pk"], "sk": rows[-1]["sk"]})
    code, out, _ = run(["audit", "verify", "-c", "dhbw", "--output", "json"], sandbox.client)
    found = json.loads(out)["broken"]
    assert code == 1 and (found["pk"], found["sk"]) == (rows[-1]["pk"]["S"], rows[-1]["sk"]["S"])
    assert found["problem"].startswith("missing: the chain head names place 2")


def test_concurrent_writers_keep_one_chain(sandbox, monkeypatch):
    # given two alarms of two incidents set at once (as `aws cloudwatch set-alarm-state` would), each delivered on
    # its own, and their record invocations held until both have started, so both append to the chain together
    barrier = threading.Barrier(2, timeout=60)
    met = threading.Event()
    original = InProcessLambda._run

    def _run(self, fn, event, response_headers):
        if fn.function_name.endswith("-record") and not met.is_set():
            barrier.wait()
            met.set()
        return original(self, fn, event, response_headers)

    monkeypatch.setattr(InProcessLambda, "_run", _run)
    cw = sandbox.client("cloudwatch")
    for alarm in (CPU_HIGH, "lecture-dhbw-function-throttles"):
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="threshold crossed")
    assert met.wait(120), "the two incidents' record invocations never ran at the same time"
    sandbox.wait_all()
    records = [i for i in sandbox.lambdas.invocations if i["function"].endswith("-record")][:2]
    assert len(records) == 2 and records[0]["started"] < records[1]["ended"] and records[1]["started"] < records[0]["ended"]
    # then every audit row (both records' and the runbooks' Reports) has its own place in one chain
    plain = [{k: next(iter(v.values())) for k, v in i.items()} for i in sandbox.client("dynamodb").scan(TableName=TABLE)["Items"]]
    rows = [r for r in plain if r["pk"].startswith("audit#")]
    [head] = [r for r in plain if r["pk"] == audit_chain.CHAIN_HEAD_PK]
    assert len({r["pk"] for r in rows}) == 2, "the rows of both incidents"
    assert len(rows) >= 3 and sorted(int(r["chain_seq"]) for r in rows) == list(range(1, len(rows) + 1))
    assert audit_chain.verify(rows, head) == audit_chain.Verdict(len(rows), None)


def test_audit_verify_as_a_real_subprocess_against_a_sandbox():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "cli",
            "--customer",
            "dhbw",
            "--",
            "start",
            "scale-ecs-service",
            "-c",
            "dhbw",
            f"service={SERVICE}",
            "delta=1",
            "--",
            "audit",
            "verify",
            "-c",
            "dhbw",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    verified = proc.stdout.split("$ python cli.py audit verify -c dhbw\n")[1]
    assert verified.strip() == "audit trail of dhbw: 1 rows, the chain is intact"


# --- a change of the table's resource policy is a security event ------------------------------------------------
ACCOUNT, REGION = "111111111111", "eu-central-1"
MALLORY = f"arn:aws:iam::{ACCOUNT}:user/mallory"


def test_removing_the_tables_resource_policy_pages_the_security_team(run_scenario):
    # given someone removes the policy that keeps the audit trail append-only (CloudTrail reports the call)
    at = datetime(2026, 11, 26, 9, 20, 0, tzinfo=UTC)
    table_arn = naming.table_arn("dhbw", REGION, ACCOUNT)
    removed = resource_policy_event("DeleteResourcePolicy", table_arn, MALLORY, ACCOUNT, REGION, at=at)
    # (another table's policy is none of the automation's business: the rule does not match it)
    other = resource_policy_event("PutResourcePolicy", table_arn + "-other", MALLORY, ACCOUNT, REGION, at=at)
    report = run_scenario({"steps": [{"event": removed}, {"event": other}]})
    # then one P1 page to the security team, saying who did what to which table, and nothing else happened
    [respond] = executions(report, "-respond")
    assert respond["status"] == "SUCCEEDED" and respond["output"]["decision"] == "page"
    [page] = [p for p in report["pages"] if p.get("event_action") == "trigger" and p.get("http_status") == 202]
    payload = page["payload"]
    assert page["team"] == "security" and payload["severity"] == "error" and payload["class"] == "table-policy-change"
    assert payload["summary"].startswith(
        "[P1] lecture-dhbw lecture-dhbw-remediation: Automation table's resource policy changed - DeleteResourcePolicy "
        f"on the automation table lecture-dhbw-remediation (its resource policy protects the audit trail), by {MALLORY}"
    )
    assert payload["custom_details"]["security_event"]["who"]["arn"] == MALLORY
    assert report["actions"] == []


# --- the daily export to S3 with Object Lock -----------------------------------------------------------------------
def test_the_daily_export_writes_the_days_rows_with_their_digests_to_the_locked_bucket(sandbox):
    # given a day with audit rows (a scale-out and a refusal)
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1"], sandbox.client)[0] == 0
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "desired=5"], sandbox.client)[0] == 0
    rows = sorted(audit_items(sandbox), key=lambda r: int(r["chain_seq"]["N"]))
    day = datetime.fromisoformat(rows[0]["sk"]["S"].split("#")[0]).date()
    # when the clock passes the export's schedule (03:00 UTC the next day) and EventBridge fires it
    events = sandbox.client("events")
    [rule] = [r for r in events.list_rules()["Rules"] if r["Name"] == "lecture-dhbw-audit-export"]
    since = datetime.fromisoformat(rows[-1]["sk"]["S"].split("#")[0])
    at = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(hour=3)
    assert schedules.due(rule["ScheduleExpression"], since, at, since) == 1
    [delivery] = sandbox.deliver(scheduled_event(rule["Arn"], ACCOUNT, REGION, at=at))
    assert delivery["invoked"] and delivery["error"] is None, delivery
    # then one JSON Lines object for that day holds every row, as the table has it, digests included
    bucket, key = naming.audit_export_bucket("dhbw", ACCOUNT), naming.audit_export_key(day.isoformat())
    s3 = sandbox.client("s3")
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    exported = [json.loads(line) for line in lines]
    plain = [{k: next(iter(v.values())) for k, v in r.items()} for r in rows]
    assert exported == plain and all(e["digest"] for e in exported)
    assert audit_chain.verify(exported, None).broken.problem == "missing: the chain head is gone"  # rows only
    assert [audit_chain.digest(e) for e in exported] == [e["digest"] for e in exported]
    # and the object is locked in compliance mode for the customer's retention: its version cannot be deleted
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retain = head["ObjectLockRetainUntilDate"]
    assert timedelta(days=399) < retain - datetime.now(UTC) <= timedelta(days=400)
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    # a second firing for the same day changes nothing (the object is written once)
    [again] = sandbox.deliver(scheduled_event(rule["Arn"], ACCOUNT, REGION, at=at))
    assert again["result"]["written"] is False
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1


def test_a_direct_invoke_of_the_audit_function_is_refused_and_writes_no_row(sandbox):
    # given a run whose Report row is in the chain
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1"], sandbox.client)[0] == 0
    [report_row] = audit_items(sandbox)
    # when someone allowed lambda:InvokeFunction forges a Report row of that (finished) execution
    execution = report_row["pk"]["S"].removeprefix("audit#")
    forged = {
        "execution_arn": naming.execution_arn("dhbw", REGION, ACCOUNT, "scale-ecs-service", execution),
        "workflow": "scale-ecs-service",
        "step": "report",
        "sk": "2026-12-01T10:00:00Z#report",
        "record": {"runbook": "scale-ecs-service", "outcome": "refused"},
    }
    resp = sandbox.client("lambda").invoke(FunctionName="lecture-dhbw-remediation-audit", Payload=json.dumps(forged))
    # then it is refused (the execution is not running), and the trail is as it was
    assert resp.get("FunctionError") and "is SUCCEEDED, not running" in resp["Payload"].read().decode()
    assert audit_items(sandbox) == [report_row]
    assert run(["audit", "verify", "-c", "dhbw"], sandbox.client)[:2] == (0, "audit trail of dhbw: 1 rows, the chain is intact\n")
