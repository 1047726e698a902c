"""Runbook restore-rds-cluster: its input model and its declaration."""

from pydantic import Field

from catalog.declaration import Outcome, Runbook, RunbookInput, register
from catalog.permissions import Permission
from catalog.runbooks._permissions import RDS_READS

# RDS snapshot identifiers: letters, digits and hyphens (AWS's automated ones start with "rds:")
_SNAPSHOT_ID = r"^(rds:)?[A-Za-z][A-Za-z0-9-]{0,254}$"


class RestoreRdsClusterInput(RunbookInput):
    snapshot: str | None = Field(
        default=None,
        pattern=_SNAPSHOT_ID,
        description="the cluster snapshot to restore; default: the latest available one the automation made",
    )
    cluster: str | None = Field(
        default=None, min_length=1, max_length=63, description="the original cluster (default: the configured rds.cluster)"
    )


RESTORE_RDS_CLUSTER = register(
    Runbook(
        name="restore-rds-cluster",
        title="Restore an Aurora snapshot to lecture-<c>-cluster-restored, after approval",
        target_kind="rds_cluster",
        input_model=RestoreRdsClusterInput,
        permissions=(
            *RDS_READS,
            Permission(("rds:DescribeDBClusters",), resource="rds_cluster.restored"),
            # the new cluster, from one of the cluster's snapshots, in the original's subnet group; tags on create
            Permission(
                ("rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource"), resource="rds_cluster.restored", write=True
            ),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.restorable_snapshot", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.subnet_group", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.default_parameter_group", write=True),
            Permission(("rds:RestoreDBClusterFromSnapshot",), resource="rds_cluster.default_option_group", write=True),
        ),
        outcomes=(
            Outcome(
                "restored",
                "ok",
                "the restored cluster is available: its endpoint and how long it took are in the message",
                change=True,
            ),
            Outcome("would_restore", "skipped", "dry-run: the snapshot it would restore, and where"),
            Outcome("refused", "refused", "automation is off for the customer"),
            Outcome("already_exists", "refused", "lecture-<c>-cluster-restored exists already: delete or rename it first"),
            Outcome("snapshot_not_found", "failed", "the named snapshot does not exist, or the automation has none"),
            Outcome("snapshot_not_usable", "refused", "the snapshot is not available or not of the customer's cluster"),
            Outcome("restore_failed", "failed", "the restored cluster ended in a status other than available"),
            Outcome("restore_timed_out", "failed", "the restored cluster did not become available in time"),
        ),
        guard_rails=(
            "needs approval: the approver sees the snapshot (id, creation time) and the new cluster's name",
            "restores only to lecture-<c>-cluster-restored; refuses if that cluster exists (never overwritten)",
            "only snapshots of the configured cluster (rds.cluster) that are available",
            "act re-reads the snapshot: if it is gone or not the one approved (a different creation time), nothing is "
            "restored (target_changed)",
            "never modifies or deletes the original cluster: its role has no Modify/Delete action at all",
            "dry-run and off modes make no change and ask for no approval",
        ),
        example_input={
            "cluster": "lecture-dhbw-cluster",
            "snapshot": "lecture-dhbw-manual-20261126-091507-3f2a1b",
            "reason": "table dropped by mistake",
        },
        approval=True,
        table_actions=(),
        verify_interval_seconds=30,
        verify_max_polls=80,  # 40 minutes of restore
        timeout_minutes=60,  # the restore's polls (40 minutes); the stack adds approvals.timeout_minutes
    )
)
