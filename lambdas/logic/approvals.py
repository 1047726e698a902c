"""Approvals: a runbook's plan waits for a person (a Step Functions task token) before it changes anything.

request   (the state machine's own execution only) store the token as the pending approval of the execution (pk
          approval#pending, sk its ARN) with the digest of the plan and who started the run (verified from the
          proof the CLI put into the input, else "unverified"), then tell the approvers: an SNS status update and a
          low-urgency PagerDuty note, each saying what will be done, to what, and how to answer.
answer    (the answer function, lambdas/logic/answers.py) the one entry point a person answers through: it
          verifies who they are, writes the verified answer (pk answer#verified) and answers the token.
answered  (the state machine's own execution only) the verified answer, or the time-out, as one record: who,
          when, their comment; the pending item is removed, the PagerDuty note resolved, an audit row written
          (``<time>#approval``). A wait answered with the token alone (no verified answer) is a rejection, and the
          security team is paged.
notify    a runbook's outcome told to the teams it declares (notify_teams), with who approved it.
"""

import json
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from catalog import CustomerConfig, naming, proofs
from lambdas import aws
from lambdas.errors import ApprovalNotProven
from lambdas.logic.store import Store


class Approval(BaseModel):
    """How an approval ended: what the execution's output and the audit trail keep."""

    answer: Literal["approved", "rejected", "timed_out"]
    by: str = Field(default="", max_length=2000)
    approvers: list[str] = Field(default_factory=list)  # the verified ARNs that approved (or the one who rejected)
    requester: str = ""  # who started the run, verified, or "unverified"
    verified: bool = False  # the answer came through the answer function (an answer record)
    comment: str = Field(default="", max_length=1000)
    at: str = ""
    requested: str = ""
    message: str = ""


def commands(config: CustomerConfig, execution: str) -> dict[str, str]:
    """How a person answers: the CLI commands (they go through the answer function, which checks who answers)."""
    c = config.customer
    return {
        "approve": f'python cli.py approve {execution} -c {c} --comment "<why>"',
        "reject": f'python cli.py reject {execution} -c {c} --comment "<why>"',
        "pending": f"python cli.py pending -c {c}",
    }


def store_pending(
    store: Store,
    *,
    runbook: str,
    execution: str,
    execution_arn: str,
    token: str,
    summary: str,
    timeout_minutes: int,
    kind: str = "approval",
    plan_digest: str = "",
    requester: str = proofs.UNVERIFIED,
) -> dict[str, Any]:
    """The pending item, keyed by the execution's ARN; written once (a retried request with the same token
    writes it again, another token for the same execution is refused)."""
    expires = store.now + timedelta(minutes=timeout_minutes)
    item = {
        "pk": naming.APPROVALS_PK,
        "sk": execution_arn,
        "token": token,
        "runbook": runbook,
        "kind": kind,
        "execution": execution,
        "execution_arn": execution_arn,
        "summary": summary[:1000],
        "requested": store.now.isoformat(),
        "expires": expires.isoformat(),
        "plan_digest": plan_digest,
        "requester": requester,
        "expires_at": int((expires + timedelta(days=1)).timestamp()),
    }
    try:
        store.table.put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(sk) OR #t = :t",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={":t": token},
        )
    except ClientError as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        raise ApprovalNotProven(
            f"an approval of {execution_arn[:300]} is pending already, with another token: the first request stands"
        ) from None
    return item


def verified_answer(store: Store, answer_key: str) -> dict[str, Any] | None:
    """The answer record the answer function wrote for the execution's wait (its ARN: the approval), if any."""
    got = store.table.get_item(Key={"pk": naming.ANSWERS_PK, "sk": answer_key}, ConsistentRead=True).get("Item")
    return dict(got) if got else None


def answered(store: Store, answer_key: str, raw: object, *, now: datetime, requested: str = "") -> Approval:
    """How the wait ended, from the verified answer record (sort key ``naming.answer_key``); the task's own output
    (what SendTaskSuccess / SendTaskFailure said) is only trusted for a time-out, which nobody can send."""
    record = verified_answer(store, answer_key)
    if record is not None:
        approvers = [str(a) for a in record.get("approvers") or []]
        return Approval(
            answer="approved" if record.get("answer") == "approved" else "rejected",
            by=", ".join(approvers)[:2000],
            approvers=approvers,
            comment=str(record.get("comment") or ""),
            at=str(record.get("at") or now.isoformat()),
            requested=requested or str(record.get("requested") or ""),
            requester=str(record.get("requester") or ""),
            verified=True,
        )
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if given.get("Error") == "States.Timeout" or (given.get("Error") and given.get("Error") != "Rejected"):
        return read_answer(raw, now=now, requested=requested)
    return Approval(
        answer="rejected",
        by="unverified",
        at=now.isoformat(),
        requested=requested,
        comment="the wait was answered with its task token alone, not through the answer function: "
        "no verified answer, so it counts as a rejection",
    )


def read_answer(raw: object, *, now: datetime, requested: str = "") -> Approval:
    """The wait's result: SendTaskSuccess's output ({"answer": "approved", "by", "comment", "at"}), or the error
    Step Functions caught ({"Error": "Rejected", "Cause": <the same JSON>} or {"Error": "States.Timeout"})."""
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if "Error" in given:
        try:
            cause = json.loads(str(given.get("Cause") or "{}"))
        except ValueError:
            cause = {"comment": str(given.get("Cause"))[:1000]}
        if not isinstance(cause, dict):
            cause = {}
        if given.get("Error") == "Rejected":
            return Approval(
                answer="rejected",
                by=str(cause.get("by") or "unknown")[:300],
                comment=str(cause.get("comment") or "")[:1000],
                at=str(cause.get("at") or now.isoformat()),
                requested=requested or str(cause.get("requested") or ""),
            )
        return Approval(
            answer="timed_out",
            by="nobody (timed out)",
            at=now.isoformat(),
            requested=requested,
            comment=f"{given.get('Error')}: no answer in time",
        )
    if given.get("answer") != "approved":
        # an answer that is not an approval is not one: never act on it
        return Approval(
            answer="rejected",
            by=str(given.get("by") or "unknown")[:300],
            at=now.isoformat(),
            comment=f"unreadable answer {json.dumps(given)[:300]}",
            requested=requested,
        )
    return Approval(
        answer="approved",
        by=str(given.get("by") or "unknown")[:300],
        comment=str(given.get("comment") or "")[:1000],
        at=str(given.get("at") or now.isoformat()),
        requested=requested or str(given.get("requested") or ""),
    )


def close_pending(store: Store, execution_arn: str) -> dict[str, Any] | None:
    """Remove the pending item (idempotent: the answer function may have removed it already); what it held."""
    resp = store.table.delete_item(Key={"pk": naming.APPROVALS_PK, "sk": execution_arn}, ReturnValues="ALL_OLD")
    old = resp.get("Attributes")
    return dict(old) if old else None


def describe(approval: Approval, runbook: str) -> str:
    if approval.answer == "approved":
        text = f"{runbook} approved by {approval.by} at {approval.at}"
    elif approval.answer == "rejected":
        text = f"{runbook} rejected by {approval.by} at {approval.at}: nothing was changed"
    else:
        text = f"{runbook}: no answer to the approval in time ({approval.at}): rejected, nothing was changed"
    return text + (f" (comment: {approval.comment})" if approval.comment and approval.answer != "timed_out" else "")
