"""Pieces every workflow shares: Lambda steps with bounded retries, logging and tracing."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.nag import acknowledge_wildcards

# Transient Lambda service errors, TooManyRequests included; bounded: 3 retries, 2 s doubling.
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException", "Lambda.AWSLambdaException",
    "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
]


def lambda_step(scope: Construct, construct_id: str, fn: lambda_.IFunction, payload: dict, *,
                result_path: str | None = None, comment: str | None = None) -> tasks.LambdaInvoke:
    step = tasks.LambdaInvoke(
        scope, construct_id, lambda_function=fn, payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True, retry_on_service_exceptions=False, result_path=result_path,
        comment=comment, task_timeout=sfn.Timeout.duration(Duration.seconds(60)),
    )
    step.add_retry(errors=LAMBDA_TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
    return step


def state_machine(scope: Construct, construct_id: str, *, name: str, definition: sfn.IChainable,
                  log_group: logs.ILogGroup, timeout: Duration, comment: str) -> sfn.StateMachine:
    machine = sfn.StateMachine(
        scope, construct_id, state_machine_name=name, comment=comment,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD, timeout=timeout, tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge_wildcards(machine.role, ["Resource::*"], (
        "X-Ray PutTraceSegments/PutTelemetryRecords and CloudWatch Logs log delivery (logs:CreateLogDelivery ...) "
        "have no resource-level permissions"))
    return machine
