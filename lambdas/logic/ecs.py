"""Reads of an ECS service and its autoscaling target (through injected clients): what scale-ecs-service,
maintenance-window and the diagnosis share."""

from typing import Any

from lambdas.errors import ResourceNotFound
from lambdas.models.steps import ScalableTarget


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    found = [
        s for s in ecs.describe_services(cluster=cluster, services=[service]).get("services", []) if s.get("status") != "INACTIVE"
    ]
    if not found:
        raise ResourceNotFound(f"service {service} not found in cluster {cluster}")
    return dict(found[0])


def scalable_target(aas: Any, cluster: str, service: str) -> ScalableTarget | None:
    targets = aas.describe_scalable_targets(
        ServiceNamespace="ecs",
        ResourceIds=[f"service/{cluster}/{service}"],
        ScalableDimension="ecs:service:DesiredCount",
    ).get("ScalableTargets", [])
    return ScalableTarget(min=targets[0]["MinCapacity"], max=targets[0]["MaxCapacity"]) if targets else None
