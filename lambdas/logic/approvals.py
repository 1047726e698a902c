"""Approvals: a runbook's plan waits for a person (a Step Functions task token) before it changes anything.

request   store the token as the pending approval of the execution (pk approval#pending, sk its name; the CLI's
          ``pending`` lists them and ``approve`` / ``reject`` answer them), then tell the approvers: an SNS status
          update and a low-urgency PagerDuty note, each saying what will be done, to what, and how to answer.
answered  the answer (or the time-out) as one record: who, when, their comment; the pending item is removed, the
          PagerDuty note resolved, an audit row written (``<time>#approval``).
notify    a runbook's outcome told to the teams it declares (notify_teams), with who approved it.
"""

import json
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from catalog import CustomerConfig, naming
from lambdas.logic.store import Store


class Approval(BaseModel):
    """How an approval ended: what the execution's output and the audit trail keep."""

    answer: Literal["approved", "rejected", "timed_out"]
    by: str = Field(default="", max_length=300)
    comment: str = Field(default="", max_length=1000)
    at: str = ""
    requested: str = ""
    message: str = ""


def commands(config: CustomerConfig, execution: str) -> dict[str, str]:
    """How a person answers: the CLI commands (the token never leaves the table)."""
    c = config.customer
    return {"approve": f"python cli.py approve {execution} -c {c} --comment \"<why>\"",
            "reject": f"python cli.py reject {execution} -c {c} --comment \"<why>\"",
            "pending": f"python cli.py pending -c {c}"}


def store_pending(store: Store, *, runbook: str, execution: str, execution_arn: str, token: str, summary: str,
                  timeout_minutes: int) -> dict[str, Any]:
    expires = store.now + timedelta(minutes=timeout_minutes)
    item = {"pk": naming.APPROVALS_PK, "sk": execution, "token": token, "runbook": runbook,
            "execution_arn": execution_arn, "summary": summary[:1000], "requested": store.now.isoformat(),
            "expires": expires.isoformat(), "expires_at": int((expires + timedelta(days=1)).timestamp())}
    store.table.put_item(Item=item)
    return item


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
            return Approval(answer="rejected", by=str(cause.get("by") or "unknown")[:300],
                            comment=str(cause.get("comment") or "")[:1000], at=str(cause.get("at") or now.isoformat()),
                            requested=requested or str(cause.get("requested") or ""))
        return Approval(answer="timed_out", by="nobody (timed out)", at=now.isoformat(), requested=requested,
                        comment=f"{given.get('Error')}: no answer in time")
    if given.get("answer") != "approved":
        # an answer that is not an approval is not one: never act on it
        return Approval(answer="rejected", by=str(given.get("by") or "unknown")[:300], at=now.isoformat(),
                        comment=f"unreadable answer {json.dumps(given)[:300]}", requested=requested)
    return Approval(answer="approved", by=str(given.get("by") or "unknown")[:300],
                    comment=str(given.get("comment") or "")[:1000], at=str(given.get("at") or now.isoformat()),
                    requested=requested or str(given.get("requested") or ""))


def close_pending(store: Store, execution: str) -> dict[str, Any] | None:
    """Remove the pending item (idempotent: the CLI may have removed it already); what it held."""
    resp = store.table.delete_item(Key={"pk": naming.APPROVALS_PK, "sk": execution}, ReturnValues="ALL_OLD")
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
