"""Runbook snapshot-rds-cluster: its input model and its declaration."""

from pydantic import Field

from catalog import naming
from catalog.declaration import Outcome, Runbook, RunbookInput, daily, register
from catalog.permissions import Condition, Permission


class SnapshotRdsClusterInput(RunbookInput):
    cluster: str = Field(min_length=1, max_length=63, description="Aurora cluster, e.g. lecture-dhbw-cluster")


SNAPSHOT_RDS_CLUSTER = register(
    Runbook(
        name="snapshot-rds-cluster",
        title="Snapshot an Aurora cluster, then prune the automation's old snapshots",
        target_kind="rds_cluster",
        input_model=SnapshotRdsClusterInput,
        permissions=(
            Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
            # CreateDBClusterSnapshot authorises the cluster and the new snapshot; tags on create need AddTagsToResource
            Permission(("rds:CreateDBClusterSnapshot",), resource="rds_cluster", write=True),
            Permission(("rds:CreateDBClusterSnapshot", "rds:AddTagsToResource"), resource="rds_cluster.snapshot", write=True),
            Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster"),
            Permission(("rds:DescribeDBClusterSnapshots",), resource="rds_cluster.any_snapshot"),
            # Only the automation's own snapshots: named lecture-<c>-* AND tagged created-by=lecture-remediation.
            Permission(
                ("rds:DeleteDBClusterSnapshot",),
                resource="rds_cluster.snapshot",
                write=True,
                conditions=(Condition("StringEquals", f"rds:cluster-snapshot-tag/{naming.CREATED_BY_TAG}", naming.CREATED_BY),),
            ),
        ),
        outcomes=(
            Outcome(
                "snapshot_created",
                "ok",
                "the snapshot is available; its size, how long it took and what prune deleted are in the message",
                change=True,
            ),
            Outcome("would_snapshot", "skipped", "dry-run: the snapshot it would take and what prune would delete"),
            Outcome("cooldown", "skipped", "an alarm snapshot was taken less than snapshot_on_alarm_cooldown_minutes ago"),
            Outcome("refused", "refused", "a guard rail said no (mode off)"),
            Outcome("cluster_busy", "failed", "the cluster stayed busy (not available) through every retry"),
            Outcome("quota_exceeded", "failed", "the account's snapshot quota is reached (SnapshotQuotaExceeded)"),
            Outcome("cluster_not_found", "failed", "the cluster does not exist"),
            Outcome("snapshot_timed_out", "failed", "the snapshot did not become available in time"),
            Outcome("snapshot_failed", "failed", "the snapshot ended in a status other than available"),
        ),
        guard_rails=(
            "only the configured cluster (rds.cluster); the snapshot's name must be the automation's (act re-checks)",
            "one snapshot per execution: its name comes from the execution's start time and name, so a retried act or "
            "a redrive adopts the snapshot it already made (DBClusterSnapshotAlreadyExists with its execution tag)",
            "a busy cluster is retried with backoff, a bounded number of times, then fails clearly (never skipped)",
            "an alarm snapshot at most once per snapshot_on_alarm_cooldown_minutes (default 360)",
            "prune deletes only the automation's snapshots (created-by tag, manual type, lecture-<c>- name) older than "
            "snapshot_retention_days, always keeping the newest; never AWS automated backups or people's snapshots",
            "dry-run and off modes make no change; every refusal is an explicit outcome",
        ),
        example_input={"cluster": "lecture-dhbw-cluster", "reason": "before a schema migration"},
        schedule=lambda c: daily(c.schedules.rds_snapshot),
        runs_before_page=True,
        table_actions=("GetItem", "PutItem"),  # the alarm snapshots' cooldown
        table_prefixes=("cooldown#",),
        verify_interval_seconds=30,
        verify_max_polls=60,  # 30 minutes of snapshot progress
        timeout_minutes=90,  # busy retries (about 20 minutes at most) + the polls
    )
)
