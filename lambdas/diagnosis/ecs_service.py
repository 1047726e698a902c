"""Diagnosis of an ECS service, as the runbook's "Diagnosis" steps collect it: attached to the page. Read-only.
Each part is read on its own: one that fails is named in ``missing`` with why, and the others still travel
with the page (the service's counts and events, its task definition's cpu and memory, its last log lines).

Its IAM is the ecs_service kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig

LOG_LINES = 20  # the last lines of the service's newest log stream


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, service: str) -> dict[str, Any]:
    try:
        log_group: str | None = config.service(service).log_group
    except KeyError:
        log_group = None
    return ecs_service(
        clients("ecs"), config.ecs.cluster, service, logs=clients("logs") if log_group else None, log_group=log_group
    )


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def ecs_service(
    ecs: Any,
    cluster: str,
    service: str,
    *,
    events: int = 5,
    stopped: int = 3,
    logs: Any = None,
    log_group: str | None = None,
    log_lines: int = LOG_LINES,
) -> dict[str, Any]:
    """Service counts, deployments, recent service events, why recent tasks stopped, the task definition's
    cpu and memory, and (given a logs client and the log group) the last log lines."""
    missing: dict[str, str] = {}
    result: dict[str, Any] = {}
    task_definition = None
    try:
        found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        if not found:
            return {"error": f"service {service} not found in cluster {cluster}"}
        svc = found[0]
        task_definition = svc.get("taskDefinition")
        result.update(
            {
                "status": svc.get("status"),
                "desired": svc.get("desiredCount"),
                "running": svc.get("runningCount"),
                "pending": svc.get("pendingCount"),
                "deployments": [
                    {k: d.get(k) for k in ("status", "rolloutState", "desiredCount", "runningCount", "failedTasks")}
                    for d in svc.get("deployments", [])
                ],
                "recent_events": [str(e.get("message")) for e in svc.get("events", [])[:events]],
            }
        )
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        missing["service"] = _why(exc)
    try:
        stopped_tasks = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED")
        arns = stopped_tasks.get("taskArns", [])[:stopped]
        if arns:
            tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", [])
            result["stopped_tasks"] = [
                {"task": t.get("taskArn", "").rsplit("/", 1)[-1], "reason": t.get("stoppedReason", "")} for t in tasks
            ]
    except Exception as exc:  # noqa: BLE001
        missing["stopped_tasks"] = _why(exc)
    if task_definition:
        try:
            td = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
            containers = td.get("containerDefinitions", [])
            result["task_definition"] = {
                "family": td.get("family"),
                "revision": td.get("revision"),
                # Fargate sets them on the task; otherwise they are the containers' sum
                "cpu": td.get("cpu") or str(sum(int(c.get("cpu") or 0) for c in containers)),
                "memory": td.get("memory") or str(sum(int(c.get("memory") or 0) for c in containers)),
            }
        except Exception as exc:  # noqa: BLE001
            missing["task_definition"] = _why(exc)
    if logs is not None and log_group:
        try:
            result["logs"] = {"log_group": log_group, **_last_lines(logs, log_group, log_lines)}
        except Exception as exc:  # noqa: BLE001
            missing["logs"] = f"log group {log_group}: {_why(exc)}"
    if missing:
        result["missing"] = missing
    return result


def _last_lines(logs: Any, log_group: str, lines: int) -> dict[str, Any]:
    streams = logs.describe_log_streams(logGroupName=log_group, orderBy="LastEventTime", descending=True, limit=1).get(
        "logStreams", []
    )
    if not streams:
        return {"stream": None, "lines": []}
    stream = streams[0]["logStreamName"]
    found = logs.get_log_events(logGroupName=log_group, logStreamName=stream, startFromHead=False, limit=lines).get("events", [])
    return {"stream": stream, "lines": [str(e.get("message", ""))[:500] for e in found][-lines:]}
