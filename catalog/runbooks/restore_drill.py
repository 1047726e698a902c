"""Runbook restore-drill: its input model and its declaration."""

from pydantic import Field

from catalog import naming
from catalog.declaration import Outcome, Runbook, RunbookInput, monthly, register
from catalog.permissions import Condition, Permission
from catalog.runbooks._permissions import RDS_READS


class RestoreDrillInput(RunbookInput):
    cluster: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        description="the cluster whose snapshot is drilled (default: the configured rds.cluster)",
    )


RESTORE_DRILL = register(
    Runbook(
        name="restore-drill",
        title="Restore drill: restore the latest snapshot to a temporary cluster, time it, delete it",
        target_kind="rds_cluster",
        input_model=RestoreDrillInput,
        permissions=(
            *RDS_READS,
            # to see whether a drill cluster is left over (one drill at a time): the account's cluster list (read)
            Permission(("rds:DescribeDBClusters",), resource="rds_cluster.any_cluster"),
            Permission(("rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource"), resource="rds_cluster.drill", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.snapshot", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.subnet_group", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.default_parameter_group", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.default_option_group", write=True),
            Permission(("rds:DeleteDBCluster",), resource="rds_cluster.drill_final_snapshot", write=True),
            # only its own drill clusters: named lecture-<c>-drill-* AND tagged drill=true and created-by
            Permission(
                ("rds:DeleteDBCluster",),
                resource="rds_cluster.drill",
                write=True,
                conditions=(
                    Condition("StringEquals", f"rds:cluster-tag/{naming.DRILL_TAG}", "true"),
                    Condition("StringEquals", f"rds:cluster-tag/{naming.CREATED_BY_TAG}", naming.CREATED_BY),
                ),
            ),
        ),
        outcomes=(
            Outcome(
                "drill_passed", "ok", "the snapshot restored and became available (rto_seconds); the drill cluster was deleted"
            ),
            Outcome("would_drill", "skipped", "dry-run: the snapshot it would restore, and to which drill cluster"),
            Outcome("refused", "refused", "automation is off for the customer"),
            Outcome("drill_running", "refused", "a drill cluster exists already (a drill going on, or one left over)"),
            Outcome("no_snapshot", "failed", "the automation has no available snapshot of the cluster to drill"),
            Outcome(
                "drill_failed",
                "failed",
                "the restore did not become available (failed or timed out); the drill cluster was deleted",
            ),
            Outcome("cleanup_failed", "failed", "the drill cluster could not be deleted: a person must delete it"),
        ),
        guard_rails=(
            "touches only its own cluster: lecture-<c>-drill-<yyyymmddhhmm>, tagged drill=true and created-by",
            "deletes a cluster only if its name is the drill's AND it carries both tags (checked before the delete, "
            "and by IAM: DeleteDBCluster conditioned on the tags, on the drill name pattern only)",
            "one drill at a time: a drill cluster left over is refused and paged",
            "restores only the automation's own snapshots (created-by tag, lecture-<c>- name)",
            "the restore is deleted even when it failed to become available",
            "dry-run and off modes make no change",
        ),
        example_input={"cluster": "lecture-dhbw-cluster", "reason": "monthly test of backup and recovery"},
        schedule=lambda c: monthly(c.schedules.restore_drill),
        table_actions=(),
        verify_interval_seconds=30,
        verify_max_polls=80,  # 40 minutes of restore
        timeout_minutes=120,
    )
)
