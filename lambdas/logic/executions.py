"""Is this call made by the state machine's own execution? Asked of Step Functions, not of the event.

A step that must not be called by anyone else (act of a runbook that asks for approval, the approval function's
request and answered) is given the execution's ARN ($$.Execution.Id) and checks it here: the execution exists, is
RUNNING, is one of the expected state machine's, and (when ``at``) is at that very state now."""

from typing import Any

from botocore.exceptions import ClientError

from catalog import CustomerConfig, naming
from lambdas import aws
from lambdas.errors import ApprovalNotProven


def state_machine_arn(config: CustomerConfig, workflow: str) -> str:
    return f"arn:aws:states:{config.region}:{config.account}:stateMachine:{naming.state_machine_name(config.customer, workflow)}"


def confirm(
    sfn: Any, execution_arn: object, *, config: CustomerConfig, workflow: str, at: tuple[str, ...] = ()
) -> dict[str, Any]:
    """DescribeExecution (and, with ``at``, the latest entered state from its history); ApprovalNotProven with
    the reason when the call is not the execution's own."""
    machine = state_machine_arn(config, workflow)
    if not isinstance(execution_arn, str) or not execution_arn.startswith(machine.replace(":stateMachine:", ":execution:") + ":"):
        raise ApprovalNotProven(
            f"the call names no execution of {naming.state_machine_name(config.customer, workflow)}"
            f" (got {str(execution_arn)[:200]!r}): only the state machine calls this step"
        )
    try:
        described = sfn.describe_execution(executionArn=execution_arn)
    except ClientError as exc:
        if aws.error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            raise ApprovalNotProven(f"there is no execution {execution_arn[:300]}") from None
        raise
    if described.get("stateMachineArn") != machine:
        raise ApprovalNotProven(f"execution {execution_arn[:300]} is not one of {machine}")
    if described.get("status") != "RUNNING":
        raise ApprovalNotProven(f"execution {execution_arn[:300]} is {described.get('status')}, not running")
    if at:
        current = current_state(sfn, execution_arn)
        if current not in at:
            raise ApprovalNotProven(
                f"execution {execution_arn[:300]} is at state {current!r}, not {' or '.join(at)}: this step is not its call"
            )
        return {**described, "state": current}  # which of the states (e.g. which wait) it is at
    return dict(described)


def current_state(sfn: Any, execution_arn: str) -> str | None:
    """The name of the state the execution entered last."""
    resp = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=25, includeExecutionData=False)
    entered = [
        e for e in resp.get("events", []) if str(e.get("type", "")).endswith("StateEntered") and e.get("stateEnteredEventDetails")
    ]
    if not entered:
        return None
    latest = max(entered, key=lambda e: int(e.get("id", 0)))  # whatever order the history came in
    return str(latest["stateEnteredEventDetails"].get("name"))
