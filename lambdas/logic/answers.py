"""The answer function's logic: the one entry point through which a person answers a pending approval (or a
maintenance window's "done"), and the only writer of verified answers (pk answer#verified, sk the execution's ARN)
and the only caller of SendTaskSuccess / SendTaskFailure.

1. who answers: the caller's signed sts:GetCallerIdentity request, sent to STS here (lambdas/logic/identity.py),
   over the purpose of exactly this answer (customer, execution ARN, answer, comment);
2. may they: for an approval, a principal the customer file names (approvals.approvers), not the requester
   (when the requester is known), at most one vote each; a "done" takes any verified caller of the account;
3. is the execution waiting for it: Step Functions says it is RUNNING, of the runbook's state machine, at its wait;
4. approved by approvals.min_approvals of them: the verified answer (with the plan's digest taken when the approval
   was asked) is written, then the token answered; a rejection by one named approver ends it.
A refused answer is an audit row and a page to the security team; nothing is answered.
"""

import json
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog import CustomerConfig, naming, proofs
from catalog.validation import describe
from lambdas import aws
from lambdas.errors import ApprovalNotProven, IdentityNotProven, InvalidInput
from lambdas.logic import executions, identity
from lambdas.logic.store import Store


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    execution: str = Field(min_length=20, max_length=400, pattern=r"^arn:aws[a-z-]*:states:")
    answer: Literal["approved", "rejected"]
    comment: str = Field(default="", max_length=1000)
    proof: dict[str, Any]


class Refused(ApprovalNotProven):
    """The answer was refused: the message says why; nothing was answered."""

    def __init__(self, message: str, caller: str = "", *, security: bool = False) -> None:
        super().__init__(message)
        self.caller = caller
        self.security = security  # someone IAM vouched for tried an answer they may not give: page security


def parse(event: object) -> AnswerRequest:
    try:
        return AnswerRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(describe(exc, "invalid answer (execution ARN, answer approved|rejected, comment, proof)")) from None


def answer(
    req: AnswerRequest, *, config: CustomerConfig, store: Store, sfn: Any, now: datetime, verify: Any = identity.verify
) -> dict[str, Any]:
    """Record the caller's answer; answer the token once enough approvals (or a rejection) are in."""
    caller = _caller(req, config, now, verify)
    pending = store.table.get_item(Key={"pk": naming.APPROVALS_PK, "sk": req.execution}, ConsistentRead=True).get("Item")
    name = req.execution.rsplit(":", 1)[-1]
    if not pending:
        raise Refused(f"no approval is pending for execution {name} of customer {config.customer}", caller)
    runbook, kind = str(pending.get("runbook")), str(pending.get("kind") or "approval")
    executions.confirm(sfn, req.execution, config=config, workflow=runbook, at=naming.REQUEST_STATES)
    requester = str(pending.get("requester") or proofs.UNVERIFIED)
    if kind == "approval":
        _may_answer(caller, requester, config, name)
    votes = [str(v) for v in pending.get("approvers") or []]
    needed = config.approvals.min_approvals if kind == "approval" else 1
    if req.answer == "approved":
        if caller in votes:
            raise Refused(
                f"{caller} approved {name} already: another named approver must approve ({len(votes)} of {needed})", caller
            )
        votes, pending["comments"] = _vote(store, req.execution, caller, req.comment)
        if len(votes) < needed:
            store.audit(
                name,
                "approval_vote",
                {
                    "runbook": runbook,
                    "execution_arn": req.execution,
                    "by": caller,
                    "comment": req.comment,
                    "approvals": len(votes),
                    "needed": needed,
                },
            )
            return {
                "answer": "recorded",
                "execution": name,
                "runbook": runbook,
                "by": caller,
                "approvals": len(votes),
                "needed": needed,
                "summary": str(pending.get("summary") or ""),
                "at": now.isoformat(),
                "requested": str(pending.get("requested") or ""),
            }
    approvers = votes if req.answer == "approved" else [caller]
    comments = [str(c) for c in pending.get("comments") or [] if c]
    comment = req.comment if req.answer == "rejected" or len(votes) <= 1 else "; ".join(comments)
    record = {
        "pk": naming.ANSWERS_PK,
        "sk": naming.answer_key(req.execution, kind),
        "runbook": runbook,
        "kind": kind,
        "answer": req.answer,
        "approvers": approvers,
        "comment": comment[:1000],
        "at": now.isoformat(),
        "requested": str(pending.get("requested") or ""),
        "requester": requester,
        "plan_digest": str(pending.get("plan_digest") or ""),
        "execution": name,
    }
    body = _decide(store, sfn, req, record, str(pending["token"]), caller)
    return {
        **body,
        "execution": name,
        "execution_arn": req.execution,
        "runbook": runbook,
        "approvers": approvers,
        "summary": str(pending.get("summary") or ""),
    }


def _caller(req: AnswerRequest, config: CustomerConfig, now: datetime, verify: Any) -> str:
    """Who answers, as STS says, over the purpose of exactly this answer; of the customer's account."""
    purpose = proofs.answer_purpose(config.customer, req.execution, req.answer, req.comment)
    try:
        caller = verify(req.proof, region=config.region, purpose=purpose, now=now)
    except IdentityNotProven as exc:
        raise Refused(f"who answers is not proven: {exc}; nothing was answered") from None
    if caller.account != config.account:
        raise Refused(
            f"{caller.arn} is not of customer {config.customer}'s account {config.account}; nothing was answered",
            caller.arn,
            security=True,
        )
    return str(caller.arn)


def _may_answer(caller: str, requester: str, config: CustomerConfig, name: str) -> None:
    """An approval is answered by a named approver who did not ask for it."""
    if not proofs.matches(caller, config.approvals.approvers):
        raise Refused(
            f"{caller} is not a named approver of customer {config.customer} (approvals.approvers "
            f"in customers/{config.customer}.yaml: {', '.join(config.approvals.approvers) or 'none'}); "
            f"nothing was answered",
            caller,
            security=True,
        )
    if requester == caller:
        raise Refused(
            f"{caller} started {name} and cannot approve or reject it: another named approver must answer (four eyes)",
            caller,
            security=True,
        )


def _decide(store: Store, sfn: Any, req: AnswerRequest, record: dict[str, Any], token: str, caller: str) -> dict[str, Any]:
    """The verified answer, written once, then the token answered and the pending item removed."""
    name = str(record["execution"])
    try:
        store.table.put_item(Item=record, ConditionExpression="attribute_not_exists(sk)")
    except ClientError as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        raise Refused(f"{name} was answered already", caller) from None
    body = {
        "answer": req.answer,
        "by": ", ".join(record["approvers"]),
        "comment": record["comment"],
        "at": record["at"],
        "requested": record["requested"],
    }
    try:
        if req.answer == "approved":
            sfn.send_task_success(taskToken=token, output=json.dumps(body))
        else:
            sfn.send_task_failure(taskToken=token, error="Rejected", cause=json.dumps(body))
    except ClientError as exc:
        code = aws.error_code(exc)
        if code not in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            raise
        store.table.delete_item(Key={"pk": naming.APPROVALS_PK, "sk": req.execution})
        raise Refused(
            f"the approval of {name} can no longer be answered ({code}): it timed out or was answered "
            "already, and a time-out is a rejection",
            caller,
        ) from None
    store.table.delete_item(Key={"pk": naming.APPROVALS_PK, "sk": req.execution})  # `pending` is exact at once
    return body


def _vote(store: Store, execution_arn: str, caller: str, comment: str) -> tuple[list[str], list[str]]:
    """Add the caller's approval to the pending item, once; the approvers and their comments so far."""
    try:
        resp = store.table.update_item(
            Key={"pk": naming.APPROVALS_PK, "sk": execution_arn},
            UpdateExpression="SET approvers = list_append(if_not_exists(approvers, :none), :me), "
            "comments = list_append(if_not_exists(comments, :none), :comment)",
            ConditionExpression="attribute_exists(sk) AND NOT contains(approvers, :arn)",
            ExpressionAttributeValues={
                ":none": [],
                ":me": [caller],
                ":arn": caller,
                ":comment": [f"{caller}: {comment}" if comment else ""],
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        raise Refused(
            f"{caller} approved {execution_arn.rsplit(':', 1)[-1]} already, or it is no longer pending", caller
        ) from None
    got = resp["Attributes"]
    return [str(a) for a in got.get("approvers") or []], [str(c) for c in got.get("comments") or []]
