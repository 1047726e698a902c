"""Attacks on the approval of a change, each refused (issue 15), on tune-lambda in the sandbox: who may act, who
may answer, and what counts as an answer. Each attack got what it asked for before; each is refused now, with an
audit row and a page to the security team where someone IAM vouched for tried it.

1. a direct invoke of act with a plan of its own (High 1), and of maintenance-window's scale_down (Medium 3);
2. SendTaskSuccess with the task token read from the execution's history (High 2, "a token is not a proof");
3. a forged call of the approval function: "answered" (approved by someone) and "request" (another token) (Medium 1);
4. a self-approval: the requester, a named approver, approves their own run (High 2);
5. an approval by a principal the customer file does not name (High 2).
"""

import json

import pytest

from operators import approvals as answering
from operators import cli
from sandbox.engine import Sandbox
from sandbox.lifecycle import APPROVER_USER

FN = "lecture-dhbw-function"
INPUT = {"function": FN, "memory_mb": 1024, "timeout_seconds": 60, "reason": "timeouts under exam load"}
RUNBOOK_FUNCTION = "lecture-dhbw-remediation-tune-lambda"
APPROVAL_FUNCTION = "lecture-dhbw-remediation-approval"
BOB = "arn:aws:iam::111111111111:user/approvers/bob"


@pytest.fixture
def sb(dhbw_assembly, dhbw_deployed, tmp_path):
    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sandbox:
        yield sandbox


def invoke(sb, function: str, payload: dict) -> tuple[dict, str | None]:
    """A direct invoke, as anyone allowed lambda:InvokeFunction in the account may make it."""
    resp = sb.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    return json.loads(resp["Payload"].read()), resp.get("FunctionError")


def memory(sb) -> int:
    return sb.client("lambda").get_function_configuration(FunctionName=FN)["MemorySize"]


def security_pages(sb) -> list[dict]:
    return [
        r["body"]
        for r in sb.pagerduty.requests
        if isinstance(r.get("body"), dict) and (r["body"].get("payload") or {}).get("class") == "approval_refused"
    ]


def audit_rows(sb, step: str) -> list[dict]:
    items = sb.client("dynamodb").scan(TableName="lecture-dhbw-remediation")["Items"]
    return [
        {k: next(iter(v.values())) for k, v in i.items()}
        for i in items
        if i["pk"]["S"].startswith("audit#") and i.get("step", {}).get("S") == step
    ]


def pending(sb) -> list[dict]:
    return answering.pending(sb.client, sb.config)


def waiting_run(sb) -> str:
    """A tune-lambda run started from the console, waiting for its approval; its execution ARN."""
    arn = sb.start_runbook("tune-lambda", INPUT)
    assert [p["execution_arn"] for p in pending(sb)] == [arn]
    return arn


def the_plan(sb) -> dict:
    """A plan as guard makes it (guard changes nothing, so anyone may ask it for one)."""
    plan, error = invoke(
        sb, RUNBOOK_FUNCTION, {"step": "guard", "input": INPUT, "execution": "mallory-1", "started": "2026-12-01T10:00:00+00:00"}
    )
    assert error is None and plan["proceed"] is True and plan["approval_summary"], plan
    return plan


# --- 1. act, invoked directly ------------------------------------------------------------------------------
def test_a_direct_invoke_of_act_with_a_plan_is_refused_recorded_and_paged(sb):
    # given a plan guard let proceed, and a run of the same runbook waiting for approval (a real, running execution)
    plan = the_plan(sb)
    arn = waiting_run(sb)
    for given in ({}, {"execution_arn": arn}):
        # when someone invokes act with it, saying it was approved (before: outcome "tuned", 512 -> 1024 MB)
        result, error = invoke(
            sb, RUNBOOK_FUNCTION, {"step": "act", "plan": plan, **given, "approval": {"answer": "approved", "by": "mallory"}}
        )
        # then nothing is changed: the plan ends refused, saying why
        assert error is None and result["outcome"] == "refused", result
        assert "asks for approval and has no proof of it" in result["message"]
        assert result["proceed"] is False and result["verify"] is False
    assert memory(sb) == 512
    reasons = " | ".join(sorted(r["reason"] for r in audit_rows(sb, "act_refused")))
    assert reasons.count(" | ") == 1 and "names no execution" in reasons, reasons
    assert "no verified answer approves execution" in reasons
    pages = security_pages(sb)
    assert len(pages) == 2 and all("tune-lambda act refused" in p["payload"]["summary"] for p in pages)
    # the waiting run itself is untouched: approved by a named approver, it tunes as planned
    sb.answer_approval("tune-lambda", approve=True, by="approvers/bob")
    [run] = [e for e in sb.executions() if e["state_machine"].endswith("-tune-lambda")]
    assert run["output"]["outcome"] == "tuned" and run["output"]["approval"]["by"] == BOB
    assert memory(sb) == 1024


def test_act_refuses_a_plan_other_than_the_one_approved(sb):
    # given a run waiting for approval: its pending item carries the digest of the plan shown to the approvers
    arn = waiting_run(sb)
    item = sb.client("dynamodb").get_item(
        TableName="lecture-dhbw-remediation", Key={"pk": {"S": "approval#pending"}, "sk": {"S": arn}}
    )["Item"]
    assert item["plan_digest"]["S"] and item["requester"]["S"] == "unverified"  # started from the console
    # and a verified answer approving that plan (written here as the answer function would: IAM lets no other
    # principal write answer# rows, which moto does not enforce)
    sb.client("dynamodb").put_item(
        TableName="lecture-dhbw-remediation",
        Item={
            "pk": {"S": "answer#verified"},
            "sk": {"S": arn},
            "answer": {"S": "approved"},
            "approvers": {"L": [{"S": BOB}]},
            "plan_digest": item["plan_digest"],
            "requester": {"S": "unverified"},
        },
    )
    # when act is invoked with this execution's ARN and another plan (more memory than was approved)
    forged = {**the_plan(sb), "memory_to": 2048}
    result, _ = invoke(sb, RUNBOOK_FUNCTION, {"step": "act", "plan": forged, "execution_arn": arn})
    # then it is refused: the plan is not the one approved
    assert result["outcome"] == "refused" and "not the one that was approved" in result["message"], result
    assert memory(sb) == 512


WINDOW_FUNCTION = "lecture-dhbw-remediation-maintenance-window"
WINDOW = {"services": ["lecture-backend-service"], "minutes": 480, "reason": "nothing planned"}


def desired(sb) -> int:
    [svc] = sb.client("ecs").describe_services(cluster="lecture-dhbw-cluster", services=["lecture-backend-service"])["services"]
    return int(svc["desiredCount"])


def test_a_direct_invoke_of_the_maintenance_windows_scale_down_is_refused_recorded_and_paged(sb):
    # given a plan guard let proceed (guard changes nothing: anyone may ask it for one) and its dry-run sibling
    guard = {"step": "guard", "execution": "mallory-mw", "started": "2026-12-01T10:00:00+00:00"}
    plan, error = invoke(sb, WINDOW_FUNCTION, {**guard, "input": WINDOW})
    assert error is None and plan["proceed"] is True and plan["approval_summary"], plan
    dry, _ = invoke(sb, WINDOW_FUNCTION, {**guard, "input": {**WINDOW, "dry_run": True}})
    assert dry["outcome"] == "would_run"
    # when someone invokes scale_down with it, saying it was approved (before: desired count 0 for 480 minutes,
    # no backups, and the open window turned the services' alarms into P3)
    result, error = invoke(
        sb, WINDOW_FUNCTION, {"step": "scale_down", "plan": plan, "approval": {"answer": "approved", "by": "mallory"}}
    )
    # then nothing is stopped: refused, saying why, an audit row and a page to the security team
    assert error is None and result["outcome"] == "refused", result
    assert "maintenance-window asks for approval and has no proof of it" in result["message"]
    # and the dry-run plan sent as if it may proceed is refused by the plan's check (before: desired count 0)
    forged, error = invoke(sb, WINDOW_FUNCTION, {"step": "scale_down", "plan": {**dry, "proceed": True}})
    assert error and forged["errorType"] == "InvalidPlan" and "changes nothing" in forged["errorMessage"], forged
    assert desired(sb) == 2
    items = sb.client("dynamodb").scan(TableName="lecture-dhbw-remediation")["Items"]
    assert [i for i in items if i["pk"]["S"].startswith("window#")] == []  # no window opened: the services' alarms page as usual
    [row] = audit_rows(sb, "act_refused")
    assert row["runbook"] == "maintenance-window" and "names no execution" in row["reason"]
    [page] = security_pages(sb)
    assert "maintenance-window act refused" in page["payload"]["summary"]


# --- 2. the token, from the execution's history --------------------------------------------------------------
def test_a_token_read_from_the_history_and_sent_with_send_task_success_is_no_approval(sb):
    # given a run waiting for approval, and its task token in the execution's history (the request's parameters)
    arn = waiting_run(sb)
    sfn = sb.client("stepfunctions")  # the operator: not an approver, but allowed GetExecutionHistory
    events = sfn.get_execution_history(executionArn=arn)["events"]
    token = next(
        json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
        for e in events
        if e.get("taskScheduledEventDetails") and "token" in e["taskScheduledEventDetails"]["parameters"]
    )
    # when they answer the token themselves (before: act ran, outcome "tuned", approved by "mallory")
    sfn.send_task_success(taskToken=token, output=json.dumps({"answer": "approved", "by": "mallory"}))
    sb.wait_all()
    # then the run ends rejected: no verified answer, nothing changed, and security is told
    [run] = [e for e in sb.executions() if e["state_machine"].endswith("-tune-lambda")]
    assert run["status"] == "SUCCEEDED" and run["output"]["outcome"] == "rejected", run
    assert run["output"]["approval"]["by"] == "unverified" and run["output"]["approval"]["verified"] is False
    assert "task token alone" in run["output"]["message"]
    assert memory(sb) == 512
    [page] = security_pages(sb)
    assert "answered with the task token alone" in page["payload"]["summary"]
    [row] = audit_rows(sb, "approval")
    assert (row["answer"], row["by"]) == ("rejected", "unverified")


# --- 3. the approval function, called by someone else ----------------------------------------------------------
def test_a_forged_call_of_the_approval_function_is_refused_and_changes_nothing(sb):
    # given a run waiting for approval
    arn = waiting_run(sb)
    name = arn.rsplit(":", 1)[-1]
    before = pending(sb)
    # when someone calls its "answered" step (before: an audit row "approved by mallory", the pending item deleted)
    # and its "request" step with a token of their own (before: the pending item overwritten)
    for payload in (
        {
            "step": "answered",
            "runbook": "tune-lambda",
            "execution": name,
            "execution_arn": arn,
            "answer": {"answer": "approved", "by": "mallory"},
        },
        {"step": "answered", "runbook": "tune-lambda", "execution": name, "answer": {"answer": "approved", "by": "mallory"}},
        {
            "step": "request",
            "runbook": "tune-lambda",
            "execution": name,
            "execution_arn": arn,
            "token": "mallorys-token",
            "summary": "set memory 512 -> 2048 MB",
            "plan": {},
        },
    ):
        result, error = invoke(sb, APPROVAL_FUNCTION, payload)
        # then each is refused: the call is not the execution's own, at that step
        assert error and result["errorType"] == "ApprovalNotProven", result
    assert (
        "is at state 'WaitForApproval', not RecordAnswer"
        in invoke(sb, APPROVAL_FUNCTION, {"step": "answered", "runbook": "tune-lambda", "execution": name, "execution_arn": arn})[
            0
        ]["errorMessage"]
    )
    # nothing was recorded or replaced: the approval still waits, with its own token and summary
    assert audit_rows(sb, "approval") == [] and pending(sb) == before
    assert memory(sb) == 512


# --- 4. four eyes ----------------------------------------------------------------------------------------------
def test_the_requester_cannot_approve_their_own_run_another_approver_can(sb):
    # given a named approver who starts tune-lambda through the CLI (which proves who starts it)
    approver = sb.driver.clients_as(APPROVER_USER)
    code = cli.main(["start", "tune-lambda", "-c", "dhbw", "--no-wait", *[f"{k}={v}" for k, v in INPUT.items()]], approver)
    sb.wait_all()
    assert code == 0
    [waiting] = pending(sb)
    item = sb.client("dynamodb").get_item(
        TableName="lecture-dhbw-remediation", Key={"pk": {"S": "approval#pending"}, "sk": {"S": waiting["execution_arn"]}}
    )["Item"]
    me = approver("sts").get_caller_identity()["Arn"]
    assert item["requester"]["S"] == me
    # when they approve it themselves (before: approved, tuned)
    with pytest.raises(answering.ApprovalError, match="cannot approve or reject it: another named approver"):
        sb.answer_approval("tune-lambda", approve=True, by="approver")
    # then it still waits, nothing changed, and security is told who tried
    assert [p["execution"] for p in pending(sb)] == [waiting["execution"]] and memory(sb) == 512
    [page] = security_pages(sb)
    assert me in json.dumps(page["payload"]["custom_details"])
    assert audit_rows(sb, "answer_refused")[0]["by"] == me
    # another named approver's approval counts
    sb.answer_approval("tune-lambda", approve=True, by="approvers/bob", comment="four eyes")
    [run] = [e for e in sb.executions() if e["state_machine"].endswith("-tune-lambda")]
    assert run["output"]["outcome"] == "tuned" and run["output"]["approval"]["by"] == BOB
    assert run["output"]["approval"]["requester"] == me and memory(sb) == 1024


# --- 5. who may approve ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["operator", "mallory"])
def test_an_approval_by_a_principal_the_customer_file_does_not_name_is_refused(sb, by):
    # given a run waiting for approval
    waiting_run(sb)
    # when the operator of the lecture-dhbw-prod profile (or any other IAM user of the account) approves it
    # (before: approved "by" whatever --by said, tuned)
    with pytest.raises(answering.ApprovalError, match="is not a named approver of customer dhbw"):
        sb.answer_approval("tune-lambda", approve=True, by=by)
    # then it still waits, nothing changed; security is paged with who tried
    assert len(pending(sb)) == 1 and memory(sb) == 512
    [page] = security_pages(sb)
    assert "is not a named approver" in page["payload"]["summary"]
    # nor can they reject it
    with pytest.raises(answering.ApprovalError, match="is not a named approver"):
        sb.answer_approval("tune-lambda", approve=False, by=by)
    assert len(pending(sb)) == 1


def test_an_answer_whose_proof_is_for_another_answer_is_refused(sb):
    # given a run waiting for approval and a named approver's proof made for a rejection
    arn = waiting_run(sb)
    from catalog import proofs
    from operators.identity import sign

    approver = sb.driver.clients_as(APPROVER_USER)
    proof = sign(approver("sts"), "eu-central-1", proofs.answer_purpose("dhbw", arn, "rejected", ""))
    # when it is sent with an approval instead
    result, error = invoke(
        sb, "lecture-dhbw-remediation-answer", {"execution": arn, "answer": "approved", "comment": "", "proof": proof}
    )
    # then STS does not vouch for it: refused, nothing answered
    assert error and "SignatureDoesNotMatch" in result["errorMessage"], result
    assert len(pending(sb)) == 1 and memory(sb) == 512
