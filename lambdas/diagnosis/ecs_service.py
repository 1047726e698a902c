"""Diagnosis of an ECS service, as the runbook's "Diagnosis" steps collect it: attached to the page. Read-only.

Its IAM is the ecs_service kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, service: str) -> dict[str, Any]:
    return ecs_service(clients("ecs"), config.ecs.cluster, service)


def ecs_service(ecs: Any, cluster: str, service: str, *, events: int = 5, stopped: int = 3) -> dict[str, Any]:
    """Service counts, deployments, recent service events and why recent tasks stopped."""
    try:
        found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        if not found:
            return {"error": f"service {service} not found in cluster {cluster}"}
        svc = found[0]
        result: dict[str, Any] = {
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
        stopped_tasks = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED")
        arns = stopped_tasks.get("taskArns", [])[:stopped]
        if arns:
            tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", [])
            result["stopped_tasks"] = [{"task": t.get("taskArn", "").rsplit("/", 1)[-1],
                                        "reason": t.get("stoppedReason", "")} for t in tasks]
        return result
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        return {"error": f"diagnosis unavailable: {type(exc).__name__}: {exc}"}
