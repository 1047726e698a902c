"""Pending approvals (and a maintenance window's "done"): list them and answer them.

A runbook that needs approval waits for a Step Functions task token; the approval function stores it in the
remediation table (pk ``approval#pending``, sk the execution's ARN). An answer goes through the answer function
(lambda:Invoke, lecture-<c>-remediation-answer) with the proof of who answers (operators/identity.py): it checks that
they are a named approver and not the requester, records the verified answer and answers the token. Nobody's answer
is taken from what they say about themselves. The CLI and the sandbox's approve / reject steps both answer here.
"""

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from catalog import naming, proofs
from operators.identity import sign

Clients = Callable[[str], Any]


class ApprovalError(Exception):
    """There is no such pending approval, or it can no longer be answered; the message says which."""


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: next(iter(v.values())) for k, v in item.items()}


def pending(clients: Clients, config: Any) -> list[dict[str, Any]]:
    """The pending approvals of the customer, oldest first: execution, runbook, summary, requested, expires."""
    ddb = clients("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": naming.table_name(config.customer),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": naming.APPROVALS_PK}},
        "ConsistentRead": True,
    }
    while True:
        resp = ddb.query(**kwargs)
        items += [_plain(i) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    out = [
        {
            "execution": i.get("execution") or execution_name(i["sk"]),
            "runbook": i.get("runbook", ""),
            "summary": i.get("summary", ""),
            "requested": i.get("requested", ""),
            "expires": i.get("expires", ""),
            "execution_arn": i.get("execution_arn") or i["sk"],
        }
        for i in items
    ]
    live = [p for p in out if not _dead(clients, config, p)]
    return sorted(live, key=lambda p: (p["requested"], p["execution"]))


def _dead(clients: Clients, config: Any, item: dict[str, Any]) -> bool:
    """An approval whose execution has ended (stopped, failed or timed out where no step could tidy up) can never
    be answered: it is removed, not listed. One whose execution cannot be read is listed as before."""
    if not item["execution_arn"]:
        return False
    try:
        status = clients("stepfunctions").describe_execution(executionArn=item["execution_arn"])["status"]
    except ClientError:
        return False
    if status in ("RUNNING", "PENDING_REDRIVE"):
        return False
    clients("dynamodb").delete_item(
        TableName=naming.table_name(config.customer), Key={"pk": {"S": naming.APPROVALS_PK}, "sk": {"S": item["execution_arn"]}}
    )
    return True


def execution_name(execution: str) -> str:
    """An execution's ARN (…:execution:<state machine>:<name>) or its name -> its name."""
    return execution.rsplit(":", 1)[-1] if execution.startswith("arn:") else execution


def answer(clients: Clients, config: Any, execution: str, *, approve: bool, comment: str = "") -> dict:
    """Approve or reject the pending approval of ``execution`` (its name or ARN), as the caller of ``clients``.
    Returns what the answer function recorded (``answer`` "recorded" while more approvals are needed)."""
    name = execution_name(execution)
    waiting = pending(clients, config)
    mine = [p for p in waiting if name in (p["execution"], execution_name(p["execution_arn"]))]
    if not mine:
        listed = ", ".join(f"{p['execution']} ({p['runbook']})" for p in waiting) or "none"
        raise ApprovalError(f"no approval is pending for execution {name} of customer {config.customer}; pending: {listed}")
    arn, verb = mine[0]["execution_arn"], "approved" if approve else "rejected"
    comment = comment[:1000]
    proof = sign(clients("sts"), config.region, proofs.answer_purpose(config.customer, arn, verb, comment))
    resp = clients("lambda").invoke(
        FunctionName=naming.function_name(config.customer, naming.ANSWER_COMPONENT),
        Payload=json.dumps({"execution": arn, "answer": verb, "comment": comment, "proof": proof}).encode(),
    )
    body = resp["Payload"].read()
    try:
        result = json.loads(body or b"{}")
    except ValueError:
        result = {"errorMessage": body.decode(errors="replace")[:500]}
    if resp.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else None
        raise ApprovalError(f"the answer was refused: {message or 'no reason given'}")
    return {
        **result,
        "execution": name,
        "runbook": result.get("runbook") or mine[0]["runbook"],
        "summary": result.get("summary") or mine[0]["summary"],
    }
