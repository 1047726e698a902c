"""The automation's RDS snapshots and their restore, through injected clients: what the snapshot, restore and
drill runbooks share (their tags, the automation's own snapshots, the reads, the restore call)."""

import re
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from catalog import CustomerConfig, naming
from lambdas import aws
from lambdas.models.steps import PlanBase

# statuses a restored cluster never leaves by itself: the restore did not work
FAILED_STATUSES = (
    "failed",
    "inaccessible-encryption-credentials",
    "incompatible-parameters",
    "incompatible-restore",
    "incompatible-network",
    "deleting",
    "stopped",
)


class ClusterRestore(PlanBase):
    """What restore-rds-cluster's and restore-drill's plans share: a snapshot of the customer's cluster restored to a new
    cluster (never the original), then polled until available."""

    cluster: str  # the original: never changed
    snapshot: str
    snapshot_created: str  # the snapshot's creation time (ISO): act compares it, a different one is another snapshot
    engine: str = "aurora-postgresql"
    subnet_group: str | None = None  # the original's: the restore lands in the same network
    security_groups: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    trigger: Literal["manual", "alarm", "schedule"] = "manual"
    execution: str
    started: str
    restore_started: str | None = None  # when act called RestoreDBClusterFromSnapshot (ISO)
    status: str | None = None  # the new cluster's
    endpoint: str | None = None


def code(exc: ClientError) -> str:
    return aws.error_code(exc)


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value")) for t in resource.get("TagList", [])}


def iso(value: object) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value or "")


def describe_cluster(rds: Any, name: str) -> dict[str, Any] | None:
    """The cluster as DescribeDBClusters shows it, None when it does not exist."""
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=name).get("DBClusters", [])
    except ClientError as exc:
        if code(exc) == "DBClusterNotFoundFault":
            return None
        raise
    return dict(found[0]) if found else None


def describe_snapshot(rds: Any, name: str) -> dict[str, Any] | None:
    try:
        found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name).get("DBClusterSnapshots", [])
    except ClientError as exc:
        if code(exc) == "DBClusterSnapshotNotFoundFault":
            return None
        raise
    return dict(found[0]) if found else None


def latest_own_snapshot(rds: Any, config: CustomerConfig) -> dict[str, Any] | None:
    """The newest available snapshot the automation made of the cluster (created-by tag, lecture-<c>- name)."""
    return next((s for s in own_snapshots(rds, config) if s.get("Status") == "available"), None)


def network_of(original: dict[str, Any] | None) -> tuple[str | None, list[str]]:
    """The original cluster's DB subnet group and security groups: the restore lands in the same network."""
    if not original:
        return None, []
    group = original.get("DBSubnetGroup") or None
    security = [str(g["VpcSecurityGroupId"]) for g in original.get("VpcSecurityGroups", []) if g.get("VpcSecurityGroupId")]
    return (str(group) if group else None), security


def network_problem(
    config: CustomerConfig,
    cluster: str,
    subnet_group: str | None,
    security_groups: list[str],
    *,
    approved: tuple[str | None, list[str]] | None = None,
) -> str | None:
    """Why a restore must not join the network read from the original cluster, or None. ``approved``: the network
    shown when the restore was approved (it must still be the original's)."""
    configured = config.rds.subnet_group
    if configured and subnet_group != configured:
        return (
            f"the original cluster {cluster} is in DB subnet group {subnet_group or 'none (it was not found)'}, "
            f"not the configured {configured} (rds.subnet_group); nothing was restored"
        )
    if approved is not None and (approved[0], sorted(approved[1])) != (subnet_group, sorted(security_groups)):
        return (
            f"the network of {cluster} is not the one approved: subnet group {approved[0] or 'default'} and "
            f"security groups {', '.join(approved[1]) or 'none'} then, {subnet_group or 'default'} and "
            f"{', '.join(security_groups) or 'none'} now; nothing was restored"
        )
    return None


def restore(
    rds: Any,
    *,
    cluster: str,
    snapshot: str,
    engine: str,
    subnet_group: str | None,
    security_groups: list[str],
    tags: dict[str, str],
) -> dict[str, Any]:
    """RestoreDBClusterFromSnapshot (the runbook's command) into the original's network; only the cluster (no
    instances), as the runbook does."""
    kwargs: dict[str, Any] = {
        "DBClusterIdentifier": cluster,
        "SnapshotIdentifier": snapshot,
        "Engine": engine,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if subnet_group:
        kwargs["DBSubnetGroupName"] = subnet_group
    if security_groups:
        kwargs["VpcSecurityGroupIds"] = security_groups
    return dict(rds.restore_db_cluster_from_snapshot(**kwargs)["DBCluster"])


def started_at(value: object) -> datetime:
    started = datetime.fromisoformat(str(value))
    return started if started.tzinfo else started.replace(tzinfo=UTC)


_TAG_VALUE = re.compile(r"[^\w\s.:/=+\-@]")


def tag_value(text: str) -> str:
    return _TAG_VALUE.sub(" ", text)[:256]


def snapshot_tags(config: CustomerConfig, *, reason: str, execution: str, trigger: str) -> dict[str, str]:
    """The tags of what the automation makes (snapshots, restored and drill clusters): whose, why, which run."""
    return {
        "customer": config.customer,
        "reason": tag_value(reason),
        "execution": tag_value(execution),
        "trigger": trigger,
        naming.CREATED_BY_TAG: naming.CREATED_BY,
    }


def own_snapshots(rds: Any, config: CustomerConfig) -> list[dict[str, Any]]:
    """The automation's snapshots of the cluster, newest first: manual type, created-by tag, our name.
    AWS's automated backups (type automated) and people's snapshots (no such tag) are never among them."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"DBClusterIdentifier": config.rds.cluster, "SnapshotType": "manual"}
    while True:
        page = rds.describe_db_cluster_snapshots(**kwargs)
        found += page.get("DBClusterSnapshots", [])
        if not page.get("Marker"):
            break
        kwargs["Marker"] = page["Marker"]
    ours = [
        s
        for s in found
        if s.get("SnapshotType") == "manual"
        and tags(s).get(naming.CREATED_BY_TAG) == naming.CREATED_BY
        and str(s.get("DBClusterSnapshotIdentifier", "")).startswith(naming.snapshot_prefix(config.customer))
    ]
    return sorted(ours, key=lambda s: s.get("SnapshotCreateTime") or datetime.min.replace(tzinfo=UTC), reverse=True)
