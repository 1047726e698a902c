"""Diagnosis of the customer's Lambda function, attached to the page: its configuration (runtime, memory,
timeout, last modified, reserved concurrency) and its recent Errors and Throttles from CloudWatch. Read-only.
Each part is read on its own: one that fails is named in ``missing`` with why, and the others still travel.

Its IAM is the lambda_function kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.customer import CustomerConfig

METRIC_MINUTES = 15  # how far back the metric sums go
METRICS = ("Errors", "Throttles", "Invocations")


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, function: str) -> dict[str, Any]:
    return lambda_function(clients("lambda"), clients("cloudwatch"), function, now=datetime.now(UTC))


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def lambda_function(lambda_: Any, cloudwatch: Any, function: str, *, now: datetime) -> dict[str, Any]:
    result: dict[str, Any] = {"function": function}
    missing: dict[str, str] = {}
    try:
        found = lambda_.get_function(FunctionName=function)
        c = found.get("Configuration", {})
        result["configuration"] = {
            "runtime": c.get("Runtime"),
            "memory_mb": c.get("MemorySize"),
            "timeout_seconds": c.get("Timeout"),
            "last_modified": c.get("LastModified"),
            "state": c.get("State"),
            "reserved_concurrency": found.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
        }
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        missing["configuration"] = _why(exc)
    try:
        sums = {}
        for metric in METRICS:
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/Lambda",
                MetricName=metric,
                Dimensions=[{"Name": "FunctionName", "Value": function}],
                StartTime=now - timedelta(minutes=METRIC_MINUTES),
                EndTime=now,
                Period=60,
                Statistics=["Sum"],
            ).get("Datapoints", [])
            sums[metric.lower()] = sum(float(p.get("Sum", 0)) for p in points)
        result["last_minutes"] = METRIC_MINUTES
        result["metrics"] = sums
    except Exception as exc:  # noqa: BLE001
        missing["metrics"] = _why(exc)
    if missing:
        result["missing"] = missing
    return result
