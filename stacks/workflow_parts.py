"""The Step Functions parts every workflow shares, built once: Lambda steps with bounded retries, the state
machine with logging and tracing, the audit tail, a person's answer through a task token, and the start of a
child workflow with its grant."""

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from catalog import CustomerConfig, naming
from stacks.nag import acknowledge_wildcards

# Transient Lambda service errors, TooManyRequests included; bounded: 3 retries, 2 s doubling.
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def lambda_step(
    scope: Construct,
    construct_id: str,
    fn: lambda_.IFunction,
    payload: dict,
    *,
    result_path: str | None = None,
    comment: str | None = None,
) -> tasks.LambdaInvoke:
    step = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=fn,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_path=result_path,
        comment=comment,
        task_timeout=sfn.Timeout.duration(Duration.seconds(60)),
    )
    step.add_retry(errors=LAMBDA_TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
    return step


def state_machine(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    definition: sfn.IChainable,
    log_group: logs.ILogGroup,
    timeout: Duration,
    comment: str,
) -> sfn.StateMachine:
    machine = sfn.StateMachine(
        scope,
        construct_id,
        state_machine_name=name,
        comment=comment,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=timeout,
        tracing_enabled=True,
        # every state's events, without their data: a wait's task token, a plan, an input stay out of the logs
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge_wildcards(
        machine.role,
        ["Resource::*"],
        (
            "X-Ray PutTraceSegments/PutTelemetryRecords and CloudWatch Logs log delivery (logs:CreateLogDelivery ...) "
            "have no resource-level permissions"
        ),
    )
    return machine


S = sfn.JsonPath


def audit_row(
    scope: Construct,
    construct_id: str,
    *,
    audit: lambda_.IFunction,
    workflow: str,
    step: str,
    sk: str,
    record: dict[str, Any],
    comment: str,
    subject: str | None = None,
) -> tasks.LambdaInvoke:
    """One audit row of the execution, appended to the customer's hash chain by the audit function (never
    overwritten); the state's data goes on unchanged. ``construct_id`` must be one of naming.AUDIT_STATES."""
    if construct_id not in naming.AUDIT_STATES:
        raise ValueError(f"{construct_id}: name an audit state in catalog/naming.py (the audit function checks it)")
    payload = {"execution_arn": S.string_at("$$.Execution.Id"), "workflow": workflow, "step": step, "sk": sk, "record": record}
    if subject is not None:  # pk audit#<subject>; else the execution's name
        payload["subject"] = subject
    return lambda_step(scope, construct_id, audit, payload, result_path=S.DISCARD, comment=comment)


@dataclass(frozen=True)
class AuditTail:
    """How a runbook's execution ends: Report (its outcome) -> ... -> Done, or ReportFailure (the error) -> Failed."""

    report: tasks.LambdaInvoke  # the caller chains what follows it, then ``done``
    done: sfn.Succeed
    report_failure: tasks.LambdaInvoke  # catch every failure here


def audit_tail(scope: Construct, *, audit: lambda_.IFunction, runbook: str) -> AuditTail:
    sk = S.format("{}#report", S.string_at("$$.State.EnteredTime"))
    report = audit_row(
        scope,
        "Report",
        audit=audit,
        workflow=runbook,
        step="report",
        sk=sk,
        record={
            "runbook": runbook,
            "outcome": S.string_at("$.plan.outcome"),
            "plan": S.json_to_string(S.object_at("$.plan")),
        },
        comment="audit row with the outcome",
    )
    done = sfn.Succeed(scope, "Done", output_path="$.plan")
    report_failure = audit_row(
        scope,
        "ReportFailure",
        audit=audit,
        workflow=runbook,
        step="report",
        sk=sk,
        record={
            "runbook": runbook,
            "outcome": "failed",
            "error": S.string_at("$.error.Error"),
            "cause": S.string_at("$.error.Cause"),
        },
        comment="audit row with the error",
    )
    report_failure.next(
        sfn.Fail(
            scope,
            "Failed",
            error="RunbookFailed",
            cause_path=S.format("{}: {}", S.string_at("$.error.Error"), S.string_at("$.error.Cause")),
        )
    )
    return AuditTail(report, done, report_failure)


def wait_for_answer(
    scope: Construct,
    *,
    fn: lambda_.IFunction,
    runbook: str,
    request_id: str,
    answered_id: str,
    summary_path: str,
    task_timeout: sfn.Timeout,
    answered_path: str,
    comment: str,
    answered_comment: str,
    extra: dict[str, Any] | None = None,
) -> tuple[tasks.LambdaInvoke, tasks.LambdaInvoke]:
    """A person's answer through a task token (an approval, an operator's "done"): the request stores the token
    and tells them (with the plan's digest, and who started the run); the verified answer (the answer function's
    record, never the task's output alone), a rejection or the time-out is recorded next. The state ids are
    catalog/naming.py's REQUEST_STATES and ANSWERED_STATES: the approval function checks them. Returns (request, answered): the
    request already goes on to answered; the caller adds its failure catches and what follows."""
    if request_id not in naming.REQUEST_STATES or answered_id not in naming.ANSWERED_STATES:
        raise ValueError(
            f"{request_id}/{answered_id}: name a wait's states in catalog/naming.py (the approval "
            "function takes its calls only at those states)"
        )
    request = tasks.LambdaInvoke(
        scope,
        request_id,
        lambda_function=fn,
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        retry_on_service_exceptions=False,
        result_path="$.answer",
        task_timeout=task_timeout,
        comment=comment,
        payload=sfn.TaskInput.from_object(
            {
                "step": "request",
                "runbook": runbook,
                "execution": S.execution_name,
                "execution_arn": S.string_at("$$.Execution.Id"),
                "token": S.task_token,
                "summary": S.string_at(summary_path),
                "plan": S.object_at("$.plan"),
                "execution_input": S.object_at("$$.Execution.Input"),
                **(extra or {}),
            }
        ),
    )
    request.add_retry(errors=LAMBDA_TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
    answered = lambda_step(
        scope,
        answered_id,
        fn,
        {
            "step": "answered",
            "runbook": runbook,
            "execution": S.execution_name,
            "execution_arn": S.string_at("$$.Execution.Id"),
            "answer": S.object_at("$.answer"),
        },
        result_path=answered_path,
        comment=answered_comment,
    )
    request.add_catch(answered, errors=["Rejected", "States.Timeout"], result_path="$.answer")
    request.next(answered)
    return request, answered


def start_child(
    scope: Construct,
    construct_id: str,
    *,
    machine: sfn.IStateMachine,
    title: str,
    input_path: str,
    name_path: str,
    result_path: str,
    with_arn: bool = False,
) -> sfn.CustomState:
    """Start another state machine and wait for it (startExecution.sync:2). A custom state, not
    tasks.StepFunctionsStartExecution: its IAM comes from ``grant_child_starts``, scoped to exact names."""
    selector = {"Output.$": "$.Output", "Status.$": "$.Status", **({"ExecutionArn.$": "$.ExecutionArn"} if with_arn else {})}
    return sfn.CustomState(
        scope,
        construct_id,
        state_json={
            "Type": "Task",
            "Comment": f"{title}; waits for it (sync:2)",
            "Resource": f"arn:{Aws.PARTITION}:states:::states:startExecution.sync:2",
            "Parameters": {"Input.$": input_path, "StateMachineArn": machine.state_machine_arn, "Name.$": name_path},
            "ResultSelector": selector,
            "ResultPath": result_path,
        },
    )


def grant_child_starts(parent: sfn.StateMachine, config: CustomerConfig, children: dict[str, sfn.IStateMachine]) -> list[str]:
    """What startExecution.sync:2 needs, with executions scoped to each child's exact name followed by ':'
    (CDK's task would grant the name as a prefix, matching other state machines too). Returns the execution
    ARNs granted (for the cdk-nag acknowledgement)."""
    executions = [
        f"arn:aws:states:{config.region}:{config.account}:execution:{naming.state_machine_name(config.customer, name)}:*"
        for name in children
    ]
    parent.add_to_role_policy(
        iam.PolicyStatement(actions=["states:StartExecution"], resources=[m.state_machine_arn for m in children.values()])
    )
    parent.add_to_role_policy(
        iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"], resources=executions)
    )
    parent.add_to_role_policy(
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[
                Stack.of(parent).format_arn(
                    service="events", resource="rule", resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule"
                )
            ],
        )
    )
    return executions
