"""The operators' CLI on moto executions: watch (steps, waiting for a person, spinner) and pending / approve / reject
through operators/approvals.py, on an approval step shaped as the contract says (the runbooks come from the catalog)."""

import io
import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from operators import cli
from operators import watch as watching
from tests.unit.builders import ACCOUNT, REGION, SERVICE, create_service

ROLE = f"arn:aws:iam::{ACCOUNT}:role/runbook"
SUMMARY = "remove Terraform lock 9e2b (Who ci@runner-7) on lecture-dhbw-terraform-state/x"


@pytest.fixture
def aws(aws_env):
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield lambda service: boto3.client(service, region_name=REGION)


def _machine(clients, workflow: str, states: dict, start: str) -> str:
    return clients("stepfunctions").create_state_machine(
        name=f"lecture-dhbw-{workflow}", roleArn=ROLE, definition=json.dumps({"StartAt": start, "States": states})
    )["stateMachineArn"]


def _approval_machine(clients) -> str:
    """Guard (a Pass) -> RequestApproval (a task token out, as the approval step does) -> Done."""
    queue = clients("sqs").create_queue(QueueName="approvals")["QueueUrl"]
    return _machine(
        clients,
        "force-unlock-state",
        {
            "Guard": {"Type": "Pass", "Result": {"outcome": "would_unlock"}, "ResultPath": "$.plan", "Next": "RequestApproval"},
            "RequestApproval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.approval",
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "Parameters": {"outcome": "unlocked", "message": "lock 9e2b removed"}, "End": True},
        },
        "Guard",
    )


STEP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)  (.*?)(?: \(\d+\.\ds\))?$", re.MULTILINE)


def steps(err: str) -> list[str]:
    """The watch's step lines (2026-12-01 21:40:05Z  Guard -> would_unlock (0.3s)), without time and duration."""
    return [text for _, text in STEP.findall(err.replace("\r\033[K", "\n"))]  # a terminal's spinner cleared


def _run(argv, clients):
    out, err = io.StringIO(), io.StringIO()
    return cli.main(argv, clients, out=out, err=err, poll_seconds=0.01), out.getvalue(), err.getvalue()


def _wait_until_token(clients, arn) -> str:
    for _ in range(6000):  # at most a minute, on a busy machine
        for e in watching.history(clients("stepfunctions"), arn):
            if e["type"] == "TaskSubmitted":
                msg = clients("sqs").receive_message(QueueUrl=clients("sqs").get_queue_url(QueueName="approvals")["QueueUrl"])[
                    "Messages"
                ][0]
                return json.loads(msg["Body"])["token"]
        watching.time.sleep(0.01)
    raise AssertionError("the approval step never sent its token")


def test_watch_says_when_an_execution_waits_for_approval_and_how_to_answer(aws):
    # given an execution that waits for an approval
    arn = aws("stepfunctions").start_execution(stateMachineArn=_approval_machine(aws), name="manual-1")["executionArn"]
    token = _wait_until_token(aws, arn)
    _pending_item(aws, arn, token)
    # when
    code, out, err = _run(["watch", arn], aws)
    # then it returns, saying so, with what is asked and the commands that answer
    result = json.loads(out)
    assert code == 0 and result["status"] == "WAITING_FOR_APPROVAL"
    assert result["approval_summary"] == SUMMARY and f"asks for approval of: {SUMMARY}" in err
    assert steps(err) == ["Guard -> would_unlock", "RequestApproval (waiting for an answer)"]
    assert "waiting for an answer in RequestApproval: nothing is changed until someone answers." in err
    assert 'approve: python cli.py approve manual-1 -c dhbw --comment "..."' in err
    assert 'reject:  python cli.py reject manual-1 -c dhbw --comment "..."' in err
    assert f"then follow it: python cli.py watch {arn}" in err
    # when it is approved, watching again follows it to the end
    aws("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"answer": "approved"}))
    code, out, err = _run(["watch", arn], aws)
    assert code == 0 and json.loads(out)["output"] == {"outcome": "unlocked", "message": "lock 9e2b removed"}
    assert steps(err) == ["Guard -> would_unlock", "RequestApproval (waiting for an answer)", "RequestApproval"]
    assert err.rstrip().endswith("SUCCEEDED: outcome unlocked: lock 9e2b removed")


def _until_entered(sfn, arn: str, state: str) -> None:
    """moto runs the execution on its own thread: wait (bounded) until it is in ``state``, so what the watch sees
    does not depend on how fast that thread is on a busy machine."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=arn)["events"]
        if any((e.get("stateEnteredEventDetails") or {}).get("name") == state for e in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"the execution never entered {state}")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream, spins", [(_Terminal, True), (io.StringIO, False)])
def test_a_long_wait_shows_a_spinner_only_on_a_terminal(aws, stream, spins):
    # given an execution in a long Wait state
    machine = _machine(
        aws, "maintenance-window", {"WaitForWindow": {"Type": "Wait", "Seconds": 3600, "End": True}}, "WaitForWindow"
    )
    sfn = aws("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    _until_entered(sfn, arn, "WaitForWindow")
    polls = []

    def sleep(_seconds):  # the operator aborts it after three polls
        polls.append(1)
        if len(polls) == 3:
            sfn.stop_execution(executionArn=arn, error="Operator", cause="enough")

    # when
    out = stream()
    result = watching.watch(sfn, arn, out, poll_seconds=1, deadline_seconds=600, sleep=sleep)
    # then one spinner frame per poll on a terminal (each cleared before the next output), none otherwise
    assert result["status"] == "ABORTED" and len(polls) >= 3
    text = out.getvalue()
    assert steps(text) == ["WaitForWindow (waiting)"]
    frames = re.findall(r"[|/\\-] \S* \(\d+s\)", text)
    assert len(frames) == (len(polls) if spins else 0)
    assert text.count("\r\033[K") == (len(polls) + 1 if spins else 0)


def _pending_item(clients, arn: str, token: str, runbook: str = "force-unlock-state") -> None:
    """The approval step's record of the token (pk approval#pending, sk the execution's ARN)."""
    ddb = clients("dynamodb")
    ddb.create_table(
        TableName="lecture-dhbw-remediation",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    ddb.put_item(
        TableName="lecture-dhbw-remediation",
        Item={
            "pk": {"S": "approval#pending"},
            "sk": {"S": arn},
            "execution": {"S": arn.rsplit(":", 1)[1]},
            "token": {"S": token},
            "runbook": {"S": runbook},
            "execution_arn": {"S": arn},
            "summary": {"S": SUMMARY},
            "requested": {"S": "2026-11-27T07:00:00+00:00"},
            "expires": {"S": "2026-11-27T07:30:00+00:00"},
        },
    )


@pytest.mark.parametrize("verb, approved", [("approve", True), ("reject", False)])
def test_pending_lists_the_approval_and_approve_or_reject_goes_through_the_answer_function(aws, verb, approved):
    # given an execution waiting for approval, its token recorded
    arn = aws("stepfunctions").start_execution(stateMachineArn=_approval_machine(aws), name="manual-2")["executionArn"]
    _pending_item(aws, arn, _wait_until_token(aws, arn))
    # when the operator lists the pending approvals
    code, out, _ = _run(["pending", "-c", "dhbw"], aws)
    # then
    assert code == 0 and out.splitlines()[0].split() == ["execution", "runbook", "requested", "expires", "summary"]
    assert out.splitlines()[2].split()[:2] == ["manual-2", "force-unlock-state"]
    assert "remove Terraform lock 9e2b" in out
    assert "2026-11-27 07:00:00Z  2026-11-27 07:30:00Z" in out.splitlines()[2]  # requested, expires: short, UTC
    code, out, _ = _run(["pending", "-c", "dhbw", "--output", "json"], aws)
    assert code == 0 and json.loads(out) == [
        {
            "execution": "manual-2",
            "runbook": "force-unlock-state",
            "summary": SUMMARY,
            "execution_arn": arn,
            "requested": "2026-11-27 07:00:00Z",
            "expires": "2026-11-27 07:30:00Z",
        }
    ]
    # when they answer
    code, out, err = _run([verb, "manual-2", "-c", "dhbw", "--comment", "checked with ci"], aws)
    # then the CLI hands the answer, with the proof of who answers, to the answer function (not deployed here, see
    # tests/e2e/test_approval_attacks.py): it never answers the token itself, and nothing is answered
    assert code == 1 and "is not deployed" in err, err
    assert aws("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert [p["execution"] for p in json.loads(_run(["pending", "-c", "dhbw", "--output", "json"], aws)[1])] == ["manual-2"]


def test_pending_removes_the_approval_of_an_execution_that_has_ended_and_lists_the_others(aws):
    # given two pending approvals: one of an execution that ended (stopped, failed) without tidying up, one waiting
    ended = aws("stepfunctions").start_execution(
        stateMachineArn=_machine(aws, "restore-terraform-state", {"Done": {"Type": "Pass", "End": True}}, "Done"), name="ended-1"
    )["executionArn"]
    for _ in range(600):
        if aws("stepfunctions").describe_execution(executionArn=ended)["status"] != "RUNNING":
            break
        watching.time.sleep(0.01)
    _pending_item(aws, ended, "token-ended", runbook="restore-terraform-state")
    waiting = aws("stepfunctions").start_execution(stateMachineArn=_approval_machine(aws), name="manual-3")["executionArn"]
    aws("dynamodb").put_item(
        TableName="lecture-dhbw-remediation",
        Item={
            "pk": {"S": "approval#pending"},
            "sk": {"S": "manual-3"},
            "token": {"S": _wait_until_token(aws, waiting)},
            "runbook": {"S": "force-unlock-state"},
            "execution_arn": {"S": waiting},
            "summary": {"S": SUMMARY},
            "requested": {"S": "2026-11-27T07:05:00+00:00"},
            "expires": {"S": "2026-11-27T07:35:00+00:00"},
        },
    )
    # when the operator lists them
    code, out, _ = _run(["pending", "-c", "dhbw", "--output", "json"], aws)
    # then only the one that can still be answered is listed, and the dead one's item is gone
    assert code == 0 and [p["execution"] for p in json.loads(out)] == ["manual-3"]
    items = aws("dynamodb").scan(TableName="lecture-dhbw-remediation")["Items"]
    assert sorted(i["sk"]["S"] for i in items if i["pk"]["S"] == "approval#pending") == ["manual-3"]


def test_status_shows_an_open_maintenance_window_beside_the_task_counts_and_the_pending_approvals(aws):
    # given dhbw at 0/0 tasks inside an open maintenance window (3 a.m.: no outage), an approval pending
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:lecture-dhbw-force-unlock-state:manual-9"
    _pending_item(aws, arn, "token-9")
    create_service(aws("ecs"), desired=0)
    now = datetime.now(UTC)
    opened, expires = now - timedelta(minutes=10), now + timedelta(minutes=20)
    window = {
        "pk": {"S": f"window#{SERVICE}"},
        "sk": {"S": "open"},
        "execution": {"S": "mw-1"},
        "opened": {"S": opened.isoformat()},
        "expires": {"S": expires.isoformat()},
    }
    aws("dynamodb").put_item(TableName="lecture-dhbw-remediation", Item=window)
    # when
    code, out, _ = _run(["status", "-c", "dhbw"], aws)
    # then the service's cell says it is in the window, until when; the approval is in its column
    row = out.splitlines()[2]
    assert code == 0 and row.startswith("dhbw")
    until = f"{expires:%Y-%m-%d %H:%M:%S}Z"
    assert f"{SERVICE} 0/0 (maintenance window until {until}, execution mw-1)  " in row
    assert row.endswith("1: force-unlock-state")
    # and as JSON
    code, out, _ = _run(["status", "-c", "dhbw", "--output", "json"], aws)
    [found] = json.loads(out)
    assert code == 0 and found["ecs"] == [
        {
            "service": SERVICE,
            "running": 0,
            "desired": 0,
            "window": {"execution": "mw-1", "opened": f"{opened:%Y-%m-%d %H:%M:%S}Z", "expires": until},
        }
    ]
    assert found["pending_approvals"] == ["force-unlock-state"] and found["approvals"] == [
        {
            "execution": "manual-9",
            "runbook": "force-unlock-state",
            "summary": SUMMARY,
            "requested": "2026-11-27 07:00:00Z",
            "expires": "2026-11-27 07:30:00Z",
        }
    ]
    assert (found["customer"], found["account"], found["region"]) == ("dhbw", ACCOUNT, REGION)
    # when the window has expired (its execution crashed), it is not open
    aws("dynamodb").put_item(
        TableName="lecture-dhbw-remediation", Item={**window, "expires": {"S": (now - timedelta(minutes=1)).isoformat()}}
    )
    row = _run(["status", "-c", "dhbw"], aws)[1].splitlines()[2]
    assert f"{SERVICE} 0/0  " in row and "maintenance window" not in row


def _event(id_: int, kind: str, at: datetime, **details) -> dict:
    return {"id": id_, "type": kind, "timestamp": at, **details}


def test_watch_prints_one_line_per_step_with_its_outcome_or_its_error():
    t = datetime(2026, 12, 1, 21, 40, 5, tzinfo=UTC)
    s = timedelta(milliseconds=100)
    plan = json.dumps({"input": {}, "plan": {"outcome": "would_scale"}})
    error = {
        "Error": "InvalidInput",
        "Cause": json.dumps({"errorMessage": "give exactly one of 'delta' or 'desired'", "errorType": "InvalidInput"}),
    }
    events = [
        _event(1, "ExecutionStarted", t),
        _event(2, "PassStateEntered", t, stateEnteredEventDetails={"name": "Start", "input": "{}"}),
        _event(3, "PassStateExited", t, stateExitedEventDetails={"name": "Start", "output": '{"input": {}}'}),
        _event(4, "TaskStateEntered", t, stateEnteredEventDetails={"name": "Guard", "input": '{"input": {}}'}),
        _event(5, "LambdaFunctionFailed", t + s, lambdaFunctionFailedEventDetails={"error": "Lambda.ServiceException"}),
        _event(6, "LambdaFunctionSucceeded", t + 2 * s, lambdaFunctionSucceededEventDetails={}),  # the retry
        _event(7, "TaskStateExited", t + 3 * s, stateExitedEventDetails={"name": "Guard", "output": plan}),
        _event(8, "ChoiceStateEntered", t + 3 * s, stateEnteredEventDetails={"name": "Proceed?", "input": plan}),
        _event(9, "ChoiceStateExited", t + 3 * s, stateExitedEventDetails={"name": "Proceed?", "output": plan}),
        _event(10, "TaskStateEntered", t + 3 * s, stateEnteredEventDetails={"name": "Act", "input": plan}),
        _event(
            11,
            "LambdaFunctionFailed",
            t + 5 * s,
            lambdaFunctionFailedEventDetails={"error": error["Error"], "cause": error["Cause"]},
        ),
        _event(
            12,
            "TaskStateExited",
            t + 5 * s,
            stateExitedEventDetails={
                "name": "Act",
                "output": json.dumps({"input": {}, "plan": {"outcome": "would_scale"}, "error": error}),
            },
        ),
        _event(13, "TaskStateEntered", t + 5 * s, stateEnteredEventDetails={"name": "ReportFailure", "input": plan}),
        _event(
            14,
            "TaskStateExited",
            t + 6 * s,
            stateExitedEventDetails={
                "name": "ReportFailure",
                "output": json.dumps({"input": {}, "plan": {"outcome": "would_scale"}, "error": error}),
            },
        ),
        _event(15, "FailStateEntered", t + 6 * s, stateEnteredEventDetails={"name": "Failed", "input": "{}"}),
        _event(16, "ExecutionFailed", t + 6 * s),
    ]
    out = io.StringIO()
    progress = watching.Progress(out)
    # when the history comes in two reads, the second repeating the first
    assert progress.feed(events[:9]) and progress.feed(events) and not progress.feed(events)
    assert out.getvalue().splitlines() == [
        "2026-12-01 21:40:05Z  Guard -> would_scale (0.3s)",  # the retried attempt is no failure
        "2026-12-01 21:40:05Z  Act failed: InvalidInput: give exactly one of 'delta' or 'desired' (0.2s)",
        "2026-12-01 21:40:05Z  ReportFailure -> failed (0.1s)",
    ]


def test_watch_says_when_an_approval_got_no_answer_in_time():
    t = datetime(2026, 12, 1, 3, 0, 0, tzinfo=UTC)
    plan = json.dumps({"plan": {"outcome": "would_restore"}})
    events = [
        _event(1, "TaskStateEntered", t, stateEnteredEventDetails={"name": "WaitForApproval", "input": plan}),
        _event(
            2, "TaskScheduled", t, taskScheduledEventDetails={"resourceType": "lambda", "resource": "invoke.waitForTaskToken"}
        ),
        _event(3, "TaskTimedOut", t + timedelta(minutes=30), taskTimedOutEventDetails={"error": "States.Timeout"}),
        _event(
            4, "TaskStateExited", t + timedelta(minutes=30), stateExitedEventDetails={"name": "WaitForApproval", "output": plan}
        ),
    ]
    out = io.StringIO()
    progress = watching.Progress(out)
    progress.feed(events[:2])
    assert progress.waiting_token == "WaitForApproval"  # watch returns here, saying how to answer
    progress.feed(events)
    assert progress.waiting_token == "" and out.getvalue().splitlines() == [
        "2026-12-01 03:00:00Z  WaitForApproval (waiting for an answer)",
        "2026-12-01 03:30:00Z  WaitForApproval -> no answer in time (1800.0s)",
    ]


def test_a_by_hand_execution_is_named_by_its_start_and_a_random_part():
    import time

    at = time.strptime("20261202T191500Z", "%Y%m%dT%H%M%SZ")
    names = {cli.execution_name(at, nonce) for nonce in ("3f2a9c1b", "00ff00ff")}
    # two starts in the same second get different names; both say when
    assert names == {"manual-20261202T191500Z-3f2a9c1b", "manual-20261202T191500Z-00ff00ff"}
