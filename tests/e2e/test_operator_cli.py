"""The operators' CLI (operators/cli.py) driven against a sandbox: the very commands an operator types."""

import io
import json
import re
import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from catalog import RUNBOOKS
from operators import cli
from operators.aws import AccountClients
from operators.output import short
from sandbox.engine import Sandbox
from sandbox.lifecycle import APPROVER_USER
from sandbox.synth import ROOT

SERVICE = "lecture-backend-service"
CPU_HIGH = "lecture-dhbw-lecture-backend-service-cpu-high"


STEP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)  (.*?)(?: \(\d+\.\ds\))?$", re.MULTILINE)


def step_lines(err: str) -> list[str]:
    """The watch's lines, one per step (2026-12-01 21:40:05Z  Guard -> would_scale (0.3s)), without the time and
    the duration."""
    return [text for _, text in STEP.findall(err)]


def no_aws(service):
    raise AssertionError(f"the CLI called AWS ({service}) although it should not have")


def run(argv, clients=no_aws, **kw):
    """(exit code, stdout, stderr) of one CLI command."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, clients, out=out, err=err, poll_seconds=0.01, **kw)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def sandbox(dhbw_assembly, dhbw_deployed, tmp_path):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sb:
        yield sb


# --- runbooks ---------------------------------------------------------------------------------------
def test_runbooks_lists_each_runbook_with_its_input_fields_and_example_without_calling_aws():
    code, out, _ = run(["runbooks"])
    assert code == 0
    block = out.split("scale-ecs-service: Scale an ECS service within its bounds\n")[1].split("\n\n")[0]
    assert "service  string   required  ECS service name, e.g. lecture-backend-service" in block
    assert "delta    integer  optional  tasks to add (negative: remove)" in block
    assert 'example input: {"service": "lecture-backend-service", "delta": 1}' in block
    assert "backup-terraform-state: " in out and "state_key  string  required" in out
    assert "Every runbook also takes: dry_run, mode, incident_id, reason, trigger" in out
    assert run(["list"])[1] == out  # the old name still works
    # as JSON: one document, a row per runbook
    code, out, _ = run(["runbooks", "--output", "json"])
    found = {rb["name"]: rb for rb in json.loads(out)}
    assert code == 0 and list(found) == list(RUNBOOKS)
    scale = found["scale-ecs-service"]
    assert scale["example_input"] == {"service": "lecture-backend-service", "delta": 1} and scale["approval"] is False
    assert {
        "name": "service",
        "type": "string",
        "required": True,
        "description": "ECS service name, e.g. lecture-backend-service",
    } in scale["fields"]
    assert found["tune-lambda"]["approval"] is True and scale["guard_rails"] == list(RUNBOOKS["scale-ecs-service"].guard_rails)


@pytest.mark.parametrize(
    "pairs, expected",
    [
        (["service=lecture-backend-service", "delta=1"], {"service": "lecture-backend-service", "delta": 1}),
        (['services=["a","b"]', "minutes=30", "until=done"], {"services": ["a", "b"], "minutes": 30, "until": "done"}),
        (["dry_run=true", "reason=before 9:00", "empty="], {"dry_run": True, "reason": "before 9:00", "empty": ""}),
    ],
)
def test_key_value_pairs_are_json_when_they_parse_else_text(pairs, expected):
    assert cli.parse_assignments(pairs) == expected


# --- start and watch -----------------------------------------------------------------------------------
def test_start_with_key_value_pairs_starts_the_runbook_and_watches_it_to_its_outcome(sandbox, monkeypatch):
    # given the service at 2 tasks, and an operator whose local OS user name says nothing about who they are
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "mallory-laptop")
    assert sandbox.world_snapshot()["ecs"][SERVICE]["desired"] == 2
    # when
    code, out, err = run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=2"], sandbox.client)
    # then it ran to its outcome, with the input typed as JSON
    result = json.loads(out)
    assert code == 0 and result["status"] == "SUCCEEDED" and result["output"]["outcome"] == "scaled"
    assert sandbox.world_snapshot()["ecs"][SERVICE]["desired"] == 4
    execution = sandbox.client("stepfunctions").describe_execution(executionArn=result["executionArn"])
    assert json.loads(execution["input"]) == {"service": SERVICE, "delta": 2}
    # named by when it started and a random part, not by the OS user name (which proves nothing; issue 15, Low 5)
    assert re.fullmatch(r"manual-\d{8}T\d{6}Z-[0-9a-f]{8}", execution["name"]), execution["name"]
    assert "mallory" not in execution["name"]
    # and the operator saw the execution, its console page, each step and the outcome
    assert f"started {result['executionArn']}" in err
    assert (
        "console: https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1"
        f"#/v2/executions/details/{result['executionArn']}"
    ) in err
    # one line per step (no Choice nor Pass states): guard, act, wait and verify until settled, report
    steps = step_lines(err)
    assert steps[:2] == ["Guard", "Act"] and steps[-2:] == ["Verify -> scaled", "Report"], steps
    polls = (len(steps) - 5) // 2
    assert steps[2:-2] == ["WaitBeforeVerify (waiting)", "Verify"] * polls + ["WaitBeforeVerify (waiting)"], steps
    assert err.rstrip().endswith("SUCCEEDED: outcome scaled: scaled lecture-backend-service from 2 to 4 tasks; 4 of 4 running")


def test_start_merges_input_file_with_pairs_and_dry_run_changes_nothing(sandbox, tmp_path):
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"service": SERVICE, "delta": 1}))
    code, out, _ = run(["start", "scale-ecs-service", "-c", "dhbw", "--input", str(path), "delta=3", "--dry-run"], sandbox.client)
    result = json.loads(out)
    assert code == 0 and result["output"]["outcome"] == "would_scale" and "to 5" in result["output"]["message"]
    assert sandbox.world_snapshot()["ecs"][SERVICE]["desired"] == 2


def test_watch_follows_an_execution_by_arn_and_by_name(sandbox):
    # given an execution started without waiting
    code, out, err = run(
        ["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1", "--no-wait"], sandbox.client
    )
    started = json.loads(out)
    assert code == 0 and started["status"] == "RUNNING" and started["console"].endswith(started["executionArn"])
    assert step_lines(err) == []  # --no-wait: no watching
    # when it is watched by ARN (the customer comes from the ARN)
    code, out, err = run(["watch", started["executionArn"]], sandbox.client)
    # then
    assert code == 0 and json.loads(out)["output"]["outcome"] == "scaled"
    assert step_lines(err)[:2] == ["Guard", "Act"] and "Verify -> scaled" in step_lines(err)
    assert "SUCCEEDED: outcome scaled" in err
    # and by its name, with the customer and the runbook
    name = started["executionArn"].rsplit(":", 1)[1]
    code, out, _ = run(["watch", name, "-c", "dhbw", "--runbook", "scale-ecs-service"], sandbox.client)
    assert code == 0 and json.loads(out)["executionArn"] == started["executionArn"]
    # a name alone is not enough
    code, _, err = run(["watch", name, "-c", "dhbw"], sandbox.client)
    assert code == 2 and "give the workflow with --runbook" in err


def test_watch_of_a_failed_execution_exits_1_with_its_error(sandbox):
    # given an execution whose input fails the guard's validation (the console does not validate)
    sfn = sandbox.client("stepfunctions")
    machine = "arn:aws:states:eu-central-1:111111111111:stateMachine:lecture-dhbw-scale-ecs-service"
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"service": SERVICE}))["executionArn"]
    code, out, err = run(["watch", arn], sandbox.client)
    result = json.loads(out)
    assert code == 1 and result["status"] == "FAILED" and result["error"] == "RunbookFailed"
    assert "FAILED: RunbookFailed: " in err and "give exactly one of 'delta' or 'desired'" in err
    # the step that failed says why, in its own line; the failure path's audit row follows
    steps = step_lines(err)
    assert (
        steps[0].startswith("Guard failed: InvalidInput: invalid scale-ecs-service input")
        and "give exactly one of 'delta' or 'desired'" in steps[0]
    )
    assert steps[1:] == ["ReportFailure -> failed"]


# --- approvals ----------------------------------------------------------------------------------------
TUNE = [
    "start",
    "tune-lambda",
    "-c",
    "dhbw",
    "function=lecture-dhbw-function",
    "memory_mb=1024",
    "timeout_seconds=60",
    "reason=timeouts under exam load",
]


@pytest.mark.parametrize("verb, outcome, memory", [("approve", "tuned", 1024), ("reject", "rejected", 512)])
def test_an_approval_runbook_by_cli_start_waits_then_pending_status_answer_and_watch(sandbox, verb, outcome, memory):
    # when an operator starts a runbook that needs approval
    code, out, err = run(TUNE, sandbox.client)
    # then the CLI says what is asked, and how to answer, and returns
    started = json.loads(out)
    name = started["executionArn"].rsplit(":", 1)[1]
    assert code == 0 and started["status"] == "WAITING_FOR_APPROVAL", err
    assert "memory 512 -> 1024 MB" in started["approval_summary"]
    assert f'approve: python cli.py approve {name} -c dhbw --comment "..."' in err
    assert sandbox.world_snapshot()["lambda"]["lecture-dhbw-function"]["memory_mb"] == 512
    # and pending / status show it
    code, out, _ = run(["pending", "-c", "dhbw"], sandbox.client)
    assert code == 0 and out.splitlines()[2].split()[:2] == [name, "tune-lambda"] and "memory 512 -> 1024 MB" in out
    code, out, _ = run(["status", "-c", "dhbw"], sandbox.client)
    assert code == 0 and out.splitlines()[2].endswith("1: tune-lambda")
    # and history --wide shows it running, waiting for the answer (the audit table has no row of it yet)
    assert run(["history", "-c", "dhbw"], sandbox.client)[1].strip() == "no runbook executions in the audit table of dhbw"
    code, out, _ = run(["history", "-c", "dhbw", "--wide", "--output", "json"], sandbox.client)
    [running] = json.loads(out)
    assert code == 0 and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", running.pop("time"))
    assert running == {
        "runbook": "tune-lambda",
        "execution": name,
        "outcome": "running",
        "message": f"waiting for approval: {started['approval_summary']}",
    }
    # the operator who started it may not answer it (not a named approver, and the requester)
    code, out, err = run([verb, name, "-c", "dhbw", "--comment", "mine"], sandbox.client)
    assert code == 1 and "is not a named approver of customer dhbw" in err, err
    # when a named approver answers (who: their verified identity) and the operator watches on
    approver = sandbox.driver.clients_as(APPROVER_USER)
    code, out, err = run([verb, name, "-c", "dhbw", "--comment", "exam week"], approver)
    caller = approver("sts").get_caller_identity()["Arn"]
    assert code == 0 and f"{'approved' if verb == 'approve' else 'rejected'} {name} as {caller}" in err, err
    code, out, err = run(["watch", started["executionArn"]], sandbox.client)
    # then
    result = json.loads(out)
    assert code == 0 and result["status"] == "SUCCEEDED" and result["output"]["outcome"] == outcome, err
    answered = (
        ["WaitForApproval", "RecordAnswer", "Act"]
        if verb == "approve"
        else ["WaitForApproval -> rejected", "RecordAnswer", "Rejected -> rejected", "Report"]
    )
    steps = step_lines(err)
    assert steps[: 2 + len(answered)] == ["Guard", "WaitForApproval (waiting for an answer)", *answered], steps
    assert steps[-1] == "Report" and (verb == "reject" or "Verify -> tuned" in steps), steps
    assert result["output"]["approval"]["by"] == caller and result["output"]["approval"]["comment"] == "exam week"
    assert sandbox.world_snapshot()["lambda"]["lecture-dhbw-function"]["memory_mb"] == memory
    assert run(["pending", "-c", "dhbw"], sandbox.client)[1].strip() == "no pending approvals for dhbw"
    # (the time is two words: 2026-12-01 21:40:05Z)
    assert run(["history", "-c", "dhbw"], sandbox.client)[1].splitlines()[2].split()[2:5] == ["tune-lambda", name, outcome]
    # an answer to what is no longer pending is refused, clearly
    code, _, err = run(["approve", name, "-c", "dhbw"], sandbox.client)
    assert code == 1 and err.startswith(f"error: no approval is pending for execution {name} of customer dhbw")


# --- history ------------------------------------------------------------------------------------------
def test_history_lists_the_audit_rows_newest_first(sandbox):
    # given a scale-out, then a second one, refused by the cooldown
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1"], sandbox.client)[0] == 0
    assert run(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "desired=5"], sandbox.client)[0] == 0
    # when
    code, out, _ = run(["history", "-c", "dhbw"], sandbox.client)
    # then a table, newest first, with each execution's outcome and message
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["time", "runbook", "execution", "outcome", "message"]
    rows = [line.split(None, 5) for line in lines[2:]]  # the time is two words: 2026-12-01 21:40:05Z
    assert [(r[2], r[4]) for r in rows] == [("scale-ecs-service", "refused"), ("scale-ecs-service", "scaled")]
    assert "cooldown" in rows[0][5]
    assert rows[1][5] == "scaled lecture-backend-service from 2 to 3 tasks; 3 of 3 running"
    times = [f"{r[0]} {r[1]}" for r in rows]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", t) for t in times)
    assert all(r[3].startswith("manual-") for r in rows) and times[0] >= times[1]  # to the second
    # --wide: the whole message; nothing is running; as JSON the same rows
    code, out, _ = run(["history", "-c", "dhbw", "--wide"], sandbox.client)
    wide = [line.split(None, 5) for line in out.splitlines()[2:]]
    assert code == 0 and [r[:5] for r in wide] == [r[:5] for r in rows]
    assert rows[0][5] == short(wide[0][5]) and "\n" not in wide[0][5]  # the table cuts what --wide shows whole
    code, out, _ = run(["history", "-c", "dhbw", "--output", "json"], sandbox.client)
    found = json.loads(out)
    assert code == 0 and [(r["time"], r["runbook"], r["execution"], r["outcome"]) for r in found] == [
        (t, r[2], r[3], r[4]) for t, r in zip(times, rows, strict=True)
    ]
    assert found[1]["message"] == rows[1][5] and found[0]["message"] == wide[0][5]
    # --limit and --runbook
    assert len(run(["history", "-c", "dhbw", "--limit", "1"], sandbox.client)[1].splitlines()) == 3
    code, out, _ = run(["history", "-c", "dhbw", "--runbook", "snapshot-rds-cluster"], sandbox.client)
    assert code == 0 and out.strip() == "no runbook executions in the audit table of dhbw"


# --- status -------------------------------------------------------------------------------------------
def test_status_all_is_a_table_with_a_row_per_customer_and_an_error_row_for_an_unreadable_one(sandbox):
    # given dhbw with an open incident (CPU high: paged and scaled 2 -> 3) and the switch at dry-run
    sandbox.fire_alarm(CPU_HIGH, "ALARM")
    sandbox.set_mode("dry-run")
    # when (the sandbox is dhbw's account only: its clients are not of edt's nor unilux's account)
    code, out, err = run(["status", "--all"], sandbox.client)
    # then
    lines = out.splitlines()
    assert lines[0].split("  ")[0] == "customer" and "ECS running/desired" in lines[0]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert sorted(rows) == ["dhbw", "edt", "unilux"]
    dhbw = rows["dhbw"].split()
    assert dhbw[:6] == ["dhbw", "111111111111/eu-central-1", "dry-run", SERVICE, "3/3", "available"]
    assert f"1: {CPU_HIGH}" in rows["dhbw"]
    assert rows["edt"].split("  ")[0] == "edt" and rows["edt"].endswith(
        "error: wrong AWS account for customer edt: expected 222222222222 (customers/edt.yaml), got 111111111111 "
        "from the clients given to the CLI; nothing was done (use the customer's credentials, e.g. --profile "
        "lecture-edt-prod)"
    )
    assert "error: wrong AWS account for customer unilux: expected 333333333333" in rows["unilux"]
    assert code == 2  # other accounts' credentials: not a success, but no crash; and the fleet table was not read
    assert err.startswith("not from the ops account's fleet table (wrong AWS account for customer ops: expected 999999999999")
    assert err.endswith(": from each customer's own account\n") and err.count("\n") == 1
    # as JSON: the same rows
    code, out, _ = run(["status", "--all", "--output", "json"], sandbox.client)
    found = {r["customer"]: r for r in json.loads(out)}
    assert code == 2 and list(found) == ["dhbw", "edt", "unilux"]
    assert found["dhbw"]["mode"] == "dry-run" and found["dhbw"]["rds"] == "available"
    assert found["dhbw"]["ecs"] == [{"service": SERVICE, "running": 3, "desired": 3}]
    assert [i["alarm"] for i in found["dhbw"]["open_incidents"]] == [CPU_HIGH]
    assert found["edt"]["error"] == rows["edt"].split("error: ", 1)[1]

    code, out, _ = run(["status", "-c", "dhbw"], sandbox.client)
    assert code == 0 and [line.split()[0] for line in out.splitlines()[2:]] == ["dhbw"]


def test_status_wants_one_customer_or_all():
    assert run(["status"])[0] == 2
    code, _, err = run(["status", "--all", "-c", "dhbw"])
    assert code == 2 and "give either -c CUSTOMER or --all" in err


# --- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["start", "restart-everything", "-c", "dhbw", "x=1"], "unknown runbook 'restart-everything'; known: "),
        (["start", "scale-ecs-service", "-c", "nope", "delta=1"], "unknown customer 'nope'; known customers: dhbw, edt"),
        (
            ["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}"],
            "invalid scale-ecs-service input: give exactly one of 'delta' or 'desired'",
        ),
        (
            ["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=one"],
            "invalid scale-ecs-service input: field 'delta': Input should be a valid integer",
        ),
        (["start", "scale-ecs-service", "-c", "dhbw", "service"], "expected key=value, got 'service'"),
        (["start", "scale-ecs-service", "-c", "dhbw", "--input", "{oops"], "--input is not valid JSON (nor a file)"),
        (["history", "-c", "nope"], "unknown customer 'nope'"),
        (["history", "-c", "dhbw", "--runbook", "nope"], "unknown runbook 'nope'"),
        (["status", "-c", "nope"], "unknown customer 'nope'"),
        (["pending", "-c", "nope"], "unknown customer 'nope'"),
        (["watch", "some-name"], "give the customer with -c (or give the execution's ARN)"),
        (["watch", "arn:aws:states:eu-central-1:1:execution:other-sm:x"], "state machine 'other-sm' of "),
        (["approve", "arn:aws:lambda:eu-central-1:1:function:x"], "not a Step Functions execution ARN"),
    ],
)
def test_usage_errors_exit_2_with_a_message_and_call_no_aws(argv, message):
    code, out, err = run(argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def _profile_files(tmp_path, monkeypatch, config: str):
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text("")
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_profile_that_is_not_configured_is_named(tmp_path, monkeypatch):
    # given no profile and no credentials anywhere: the customer's profile missing is no error by itself (the
    # default credential chain is tried next), no credentials at all is
    _profile_files(tmp_path, monkeypatch, "")
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["mode", "-c", "dhbw"], out=out, err=err)
    assert code == 1 and err.getvalue() == (
        "error: no AWS credentials for customer dhbw: its profile "
        "'lecture-dhbw-prod' is not configured (~/.aws/config) and the default "
        "credential chain (environment, AWS_PROFILE, SSO, instance role) has "
        "none; add the profile, give --profile, or log in\n"
    )
    code = cli.main(["history", "-c", "dhbw", "--profile", "ops"], out=out, err=err)
    assert code == 1 and "AWS profile 'ops' is not configured" in err.getvalue()


def test_missing_credentials_say_how_to_log_in(tmp_path, monkeypatch):
    # given the profile exists but holds no credentials
    _profile_files(tmp_path, monkeypatch, "[profile lecture-dhbw-prod]\nregion = eu-central-1\n")
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1"], out=out, err=err)
    assert code == 1 and out.getvalue() == ""
    assert err.getvalue() == (
        "error: no AWS credentials for profile 'lecture-dhbw-prod': run `aws sso login "
        "--profile lecture-dhbw-prod` (or refresh the profile's keys) and try again\n"
    )


@pytest.mark.parametrize("code_name", ["ExpiredToken", "ExpiredTokenException", "RequestExpired"])
@pytest.mark.parametrize("expired_at", ["get_caller_identity", "start_execution"])
def test_expired_credentials_say_how_to_log_in_again(code_name, expired_at):
    # given the profile's credentials expire (at the account check, or at the next call)
    keys = {"region_name": "eu-central-1", "aws_access_key_id": "x", "aws_secret_access_key": "y"}
    sts, sfn = boto3.client("sts", **keys), boto3.client("stepfunctions", **keys)
    stubs = {"sts": Stubber(sts), "stepfunctions": Stubber(sfn)}
    if expired_at == "start_execution":
        stubs["sts"].add_response(
            "get_caller_identity",
            {"Account": "111111111111", "UserId": "AROAX:alice", "Arn": "arn:aws:sts::111111111111:assumed-role/ops/alice"},
        )
    stubs["sts" if expired_at == "get_caller_identity" else "stepfunctions"].add_client_error(
        expired_at, service_error_code=code_name, http_status_code=400
    )

    def clients_for(config, profile):  # the customer's profile, as profile_clients makes it
        return AccountClients(
            {"sts": sts, "stepfunctions": sfn}.__getitem__, config, "profile 'lecture-dhbw-prod'", "lecture-dhbw-prod"
        )

    with stubs["sts"], stubs["stepfunctions"]:  # a call nobody queued an answer for fails the test
        code, out, err = run(
            ["start", "scale-ecs-service", "-c", "dhbw", f"service={SERVICE}", "delta=1"], None, clients_for=clients_for
        )
        stubs["sts"].assert_no_pending_responses()
        stubs["stepfunctions"].assert_no_pending_responses()
    assert code == 1 and out == "" and "Traceback" not in err
    assert err == (
        f"error: the AWS credentials of profile 'lecture-dhbw-prod' are expired or invalid ({code_name}): "
        "run `aws sso login --profile lecture-dhbw-prod` (or refresh the profile's keys) and try again\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["start", "scale-ecs-service", "-c", "edt", f"service={SERVICE}", "delta=1"],
        ["history", "-c", "edt"],
        ["mode", "-c", "edt"],
        ["status", "-c", "edt"],
        ["watch", "arn:aws:states:eu-central-1:222222222222:execution:lecture-edt-scale-ecs-service:x"],
    ],
)
def test_a_stack_that_is_not_deployed_says_so_and_how_to_deploy_it(monkeypatch, argv):
    # given edt's account (its credentials: moto as 222222222222), where nothing is deployed
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "x",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "MOTO_ACCOUNT_ID": "222222222222",
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        code, out, err = run(argv, lambda service: boto3.client(service, region_name="eu-central-1"))
    assert code == 1, err
    shown = out if argv[0] == "status" else err  # status shows it as the customer's row
    assert (
        "error: the stack lecture-edt-remediation is not deployed in 222222222222/eu-central-1? "
        "run npx cdk deploy -c customer=edt" in shown
    )
    assert "Traceback" not in err


def test_watch_of_an_execution_that_does_not_exist_says_so(sandbox):
    code, _, err = run(["watch", "nope", "-c", "dhbw", "--runbook", "scale-ecs-service"], sandbox.client)
    assert code == 1 and err == (
        "error: no execution 'nope' of lecture-dhbw-scale-ecs-service: `python cli.py history -c dhbw` lists the recent ones\n"
    )


# --- the sandbox CLI ----------------------------------------------------------------------------------
def test_sandbox_cli_runs_the_commands_against_a_sandbox():
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
            "status",
            "--all",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]  # the sandbox is dhbw's account: not edt's nor unilux's
    assert "$ python cli.py start scale-ecs-service -c dhbw service=lecture-backend-service delta=1" in proc.stdout
    assert '"outcome": "scaled"' in proc.stdout and "SUCCEEDED: outcome scaled" in proc.stderr
    status = proc.stdout.split("$ python cli.py status --all\n")[1].splitlines()
    assert status[2].split()[:6] == ["dhbw", "111111111111/eu-central-1", "enforce", SERVICE, "3/3", "available"]
    assert (
        status[3].startswith("edt")
        and "error: wrong AWS account for customer edt: expected 222222222222 (customers/edt.yaml), got 111111111111" in status[3]
    )
