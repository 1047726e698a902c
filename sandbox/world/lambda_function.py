"""The lambda_function kind's part of the simulated world: the customer's Lambda function (customer file
``function``, with ``function_timeout_seconds``) and its recent Errors and Throttles in CloudWatch.

The function is never invoked: the automation only reads it. ``exists: false`` leaves it out, so the
diagnosis's configuration part fails (and says so) while its metrics still travel with the page.
"""

import io
import zipfile
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class LambdaFunctionWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exists: bool = Field(default=True, description="false: the function does not exist")
    runtime: str = "python3.12"
    memory_mb: int = Field(default=512, ge=128, le=10240)
    reserved_concurrency: int | None = Field(default=None, ge=0)
    errors: int = Field(default=0, ge=0, description="Errors in the last minutes (CloudWatch)")
    throttles: int = Field(default=0, ge=0, description="Throttles in the last minutes (CloudWatch)")


KEY = "lambda"  # world.lambda in scenario files and in the report
Spec = LambdaFunctionWorld
AWS_SERVICES = ("lambda",)  # tune-lambda: the function before and after its change


def instance_of(operation: str, params: dict) -> str | None:
    return params.get("FunctionName")


def check(config, specs: dict[str, LambdaFunctionWorld]) -> None:
    for name in specs:
        if name != config.function:
            raise ValueError(
                f"world.lambda.{name}: customers/{config.customer}.yaml names the function "
                f"{config.function!r} (function); the world can only describe that one"
            )


def _code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()


def build(clients, config, specs: dict[str, LambdaFunctionWorld], account: str, region: str) -> None:
    spec = specs.get(config.function, LambdaFunctionWorld())
    now = datetime.now(UTC)
    cloudwatch = clients("cloudwatch")
    for metric, value in (("Errors", spec.errors), ("Throttles", spec.throttles)):
        if value:
            cloudwatch.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": [{"Name": "FunctionName", "Value": config.function}],
                        "Timestamp": now - timedelta(minutes=2),
                        "Value": value,
                        "Unit": "Count",
                    }
                ],
            )
    if not spec.exists:
        return
    role = clients("iam").create_role(
        RoleName=f"{config.function}-role",
        AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},'
            '"Action":"sts:AssumeRole"}]}'
        ),
    )["Role"]["Arn"]
    lambda_ = clients("lambda")
    lambda_.create_function(
        FunctionName=config.function,
        Runtime=spec.runtime,
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _code()},
        MemorySize=spec.memory_mb,
        Timeout=config.function_timeout_seconds,
    )
    if spec.reserved_concurrency is not None:
        lambda_.put_function_concurrency(FunctionName=config.function, ReservedConcurrentExecutions=spec.reserved_concurrency)


def install(patches) -> None:
    """moto's Lambda has all the diagnosis reads."""


def snapshot(clients, config) -> dict:
    try:
        c = clients("lambda").get_function(FunctionName=config.function)["Configuration"]
    except Exception:  # noqa: BLE001 - a function the world left out is not in the report
        return {}
    return {config.function: {"runtime": c.get("Runtime"), "memory_mb": c.get("MemorySize"), "timeout_seconds": c.get("Timeout")}}
