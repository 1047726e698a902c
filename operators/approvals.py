"""Pending approvals (and a maintenance window's "done"): list them and answer them.

A runbook that needs approval waits for a Step Functions task token; the approval function stores the token in the
remediation table (pk ``approval#pending``, sk the execution's name). Answering sends the token back
(SendTaskSuccess / SendTaskFailure) with who answered, when and their comment, then removes the pending item.
The CLI and the sandbox's approve / reject steps both answer through here.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from catalog import naming

Clients = Callable[[str], Any]


class ApprovalError(Exception):
    """There is no such pending approval, or it can no longer be answered; the message says which."""


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: next(iter(v.values())) for k, v in item.items()}


def pending(clients: Clients, config: Any) -> list[dict[str, Any]]:
    """The pending approvals of the customer, oldest first: execution, runbook, summary, requested, expires."""
    ddb = clients("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": naming.table_name(config.customer), "KeyConditionExpression": "pk = :pk",
                              "ExpressionAttributeValues": {":pk": {"S": naming.APPROVALS_PK}}, "ConsistentRead": True}
    while True:
        resp = ddb.query(**kwargs)
        items += [_plain(i) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    out = [{"execution": i["sk"], "runbook": i.get("runbook", ""), "summary": i.get("summary", ""),
            "requested": i.get("requested", ""), "expires": i.get("expires", ""),
            "execution_arn": i.get("execution_arn", "")} for i in items]
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
    clients("dynamodb").delete_item(TableName=naming.table_name(config.customer),
                                    Key={"pk": {"S": naming.APPROVALS_PK}, "sk": {"S": item["execution"]}})
    return True


def execution_name(execution: str) -> str:
    """An execution's ARN (…:execution:<state machine>:<name>) or its name -> its name."""
    return execution.rsplit(":", 1)[-1] if execution.startswith("arn:") else execution


def answer(clients: Clients, config: Any, execution: str, *, approve: bool, by: str, comment: str = "") -> dict:
    """Approve or reject the pending approval of ``execution`` (its name or ARN). Returns what was sent."""
    name = execution_name(execution)
    if not by:
        raise ApprovalError("say who answers (by): the audit trail records it")
    ddb = clients("dynamodb")
    table = naming.table_name(config.customer)
    key = {"pk": {"S": naming.APPROVALS_PK}, "sk": {"S": name}}
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not item:
        waiting = ", ".join(f"{p['execution']} ({p['runbook']})" for p in pending(clients, config)) or "none"
        raise ApprovalError(f"no approval is pending for execution {name} of customer {config.customer}; "
                            f"pending: {waiting}")
    found = _plain(item)
    body = {"answer": "approved" if approve else "rejected", "by": by[:300], "comment": comment[:1000],
            "at": datetime.now(UTC).isoformat(), "requested": found.get("requested", "")}
    sfn = clients("stepfunctions")
    try:
        if approve:
            sfn.send_task_success(taskToken=found["token"], output=json.dumps(body))
        else:
            sfn.send_task_failure(taskToken=found["token"], error="Rejected", cause=json.dumps(body))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            ddb.delete_item(TableName=table, Key=key)
            raise ApprovalError(f"the approval of {name} can no longer be answered ({code}): it timed out or was "
                                "answered already, and a time-out is a rejection") from None
        raise
    # the workflow removes it too once it has the answer; removing it here keeps `pending` exact at once
    ddb.delete_item(TableName=table, Key=key)
    return {**body, "execution": name, "runbook": found.get("runbook", ""), "summary": found.get("summary", "")}
