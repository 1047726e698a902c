"""Permission sets that several runbooks declare: written once, each runbook lists the ones it needs."""

from catalog.permissions import Condition, Permission

# Scaling ECS services (and their autoscaling floor): what scale-ecs-service and maintenance-window both do.
ECS_SCALING_PERMISSIONS: tuple[Permission, ...] = (
    Permission(("ecs:DescribeServices",), resource="ecs_service"),
    Permission(("ecs:UpdateService",), resource="ecs_service", write=True),
    Permission(("application-autoscaling:DescribeScalableTargets",), resource="*"),
    # Scalable target ARNs carry a random id and no condition key names the service (Service Authorization
    # Reference); the namespace and dimension conditions keep it to ECS services' desired counts.
    Permission(("application-autoscaling:RegisterScalableTarget",), resource="ecs_service.scalable_target",
               write=True, conditions=(
                   Condition("StringEquals", "application-autoscaling:service-namespace", "ecs"),
                   Condition("StringEquals", "application-autoscaling:scalable-dimension",
                             "ecs:service:DesiredCount"))),
)

RDS_READS = (
    Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
    Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster"),
    Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster.any_snapshot"),
)

# Reading the state's Terraform lock: the DynamoDB LockID item (only this state's: the table is shared) and the
# S3 .tflock (its listing, to tell a missing one from a refused read).
STATE_LOCK_READS: tuple[Permission, ...] = (
    Permission(("dynamodb:GetItem",), resource="state_lock", conditions=(
        Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),)),
    Permission(("s3:GetObject",), resource="state_lock.tflock"),
    Permission(("s3:ListBucket",), resource="state_lock.state_bucket", conditions=(
        Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),)),
)
