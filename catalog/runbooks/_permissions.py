"""Permission sets that several runbooks declare: written once, each runbook lists the ones it needs."""

from catalog.permissions import STATE_LOCK_READS, Condition, Permission

# Scaling ECS services (and their autoscaling floor): what scale-ecs-service and maintenance-window both do.
ECS_SCALING_PERMISSIONS: tuple[Permission, ...] = (
    Permission(("ecs:DescribeServices",), resource="ecs_service"),
    Permission(("ecs:UpdateService",), resource="ecs_service", write=True),
    Permission(("application-autoscaling:DescribeScalableTargets",), resource="*"),
    # Scalable target ARNs carry a random id and no condition key names the service (Service Authorization
    # Reference); the namespace and dimension conditions keep it to ECS services' desired counts.
    Permission(
        ("application-autoscaling:RegisterScalableTarget",),
        resource="ecs_service.scalable_target",
        write=True,
        conditions=(
            Condition("StringEquals", "application-autoscaling:service-namespace", "ecs"),
            Condition("StringEquals", "application-autoscaling:scalable-dimension", "ecs:service:DesiredCount"),
        ),
    ),
)

RDS_READS = (
    Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
    Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster"),
    Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster.any_snapshot"),
)

__all__ = ["ECS_SCALING_PERMISSIONS", "RDS_READS", "STATE_LOCK_READS"]
