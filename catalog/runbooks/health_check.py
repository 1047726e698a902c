"""Runbook health-check: its input model and its declaration."""

from pydantic import Field

from catalog.declaration import Outcome, Runbook, RunbookInput, daily, register
from catalog.permissions import Permission
from catalog.runbooks._permissions import STATE_LOCK_READS


class HealthCheckInput(RunbookInput):
    # respond's schedule names the configured cluster (the runbook's target kind); the check covers the customer
    cluster: str | None = Field(
        default=None, min_length=1, max_length=63, description="the configured rds.cluster (optional; every check runs anyway)"
    )


HEALTH_CHECK = register(
    Runbook(
        name="health-check",
        title="Health check: ECS services, RDS, content bucket, state lock, mode, maintenance windows (read-only)",
        target_kind="rds_cluster",
        input_model=HealthCheckInput,
        permissions=(
            Permission(("ecs:DescribeServices",), resource="ecs_service"),
            Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
            # HeadBucket is authorised by s3:ListBucket
            Permission(("s3:ListBucket",), resource="ecs_service.content_bucket"),
            *STATE_LOCK_READS,
        ),
        outcomes=(
            Outcome("healthy", "ok", "every check passed"),
            Outcome("degraded", "ok", "no check failed, some warn (the summary says which)"),
            Outcome("unhealthy", "failed", "at least one check failed: paged when it ran through respond"),
        ),
        guard_rails=(
            "read-only: it changes nothing, in any mode",
            "the summary goes to the status topic and is the workflow's output",
            "the lock table is shared: it reads only this state's LockID (dynamodb:LeadingKeys)",
        ),
        example_input={"cluster": "lecture-dhbw-cluster", "reason": "before the lecture"},
        schedule=lambda c: daily(c.schedules.health_check),
        table_actions=("GetItem",),  # open maintenance windows (window#<service>)
        table_prefixes=("window#",),
        publishes_status=True,
    )
)
