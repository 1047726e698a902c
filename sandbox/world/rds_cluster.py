"""The rds_cluster kind's part of the simulated world: the customer's Aurora cluster and its snapshots.

moto's clusters are available at once and its snapshots are available when created. The world can make
the cluster busy for a number of status checks (DescribeDBClusters answers "backing-up"), make
CreateDBClusterSnapshot fail with InvalidDBClusterStateFault, limit the snapshot quota, leave the cluster
out, and seed snapshots of any age: the automation's, people's, or AWS's automated backups. A new snapshot
is "creating" at the first describe and available at the next, so verify polls for real.

Other clusters of the customer (named lecture-<c>-..., e.g. a decoy lecture-<c>-drill-other) may be listed with
their tags. A cluster restored from a snapshot (restore-rds-cluster, restore-drill) answers "creating" for
``restore_checks`` status checks, then available; restored clusters appear in the report under their own id.
"""

import copy
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from catalog import naming


class SnapshotWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=255)
    age_days: float = Field(default=0, ge=0)
    tags: dict[str, str] = Field(default_factory=dict, description="created-by=lecture-remediation: the automation's")
    automated: bool = Field(default=False, description="an AWS automated backup (type automated)")


class RdsClusterWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exists: bool = Field(default=True, description="false: the cluster does not exist")
    status: str = Field(default="available", description="the status once the busy checks are used up")
    busy_checks: int = Field(default=0, ge=0, description="status checks that find the cluster busy first")
    busy_creates: int = Field(
        default=0, ge=0, description="CreateDBClusterSnapshot calls that raise InvalidDBClusterStateFault first"
    )
    snapshot_quota: int | None = Field(default=None, ge=0, description="manual cluster snapshots the account may have")
    members: int = Field(default=1, ge=0, le=15, description="member instances (the first one is the writer)")
    storage_gb: int = Field(default=20, ge=1, description="AllocatedStorage, reported as the snapshot's size")
    snapshots: list[SnapshotWorld] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict, description="the cluster's tags")
    restore_checks: int = Field(
        default=2,
        ge=0,
        description="status checks a cluster restored from a snapshot answers creating first (the configured cluster's entry)",
    )


KEY = "rds"  # world.rds in scenario files and in the report
Spec = RdsClusterWorld
AWS_SERVICES = ("rds",)  # calls on these show the cluster before and after
BUSY_STATUS = "backing-up"


def instance_of(operation: str, params: dict) -> str | None:
    """The cluster a call is about; a snapshot deleted by name: the whole of world.rds."""
    return params.get("DBClusterIdentifier") or "*"


def check(config, specs: dict[str, RdsClusterWorld]) -> None:
    prefix = f"{naming.PREFIX}-{config.customer}-"
    for name in specs:
        if name != config.rds.cluster and not name.startswith(prefix):
            raise ValueError(
                f"world.rds.{name}: customers/{config.customer}.yaml names the cluster "
                f"{config.rds.cluster!r} (rds.cluster); other clusters of the world must be the "
                f"customer's, named {prefix}..."
            )


def _backend(account: str, region: str):
    from moto.rds.models import rds_backends

    return rds_backends[account][region]


def build(clients, config, specs: dict[str, RdsClusterWorld], account: str, region: str) -> None:
    """The configured cluster (unless it does not exist), its members and its snapshots."""
    name = config.rds.cluster
    spec = specs.get(name, RdsClusterWorld())
    backend = _backend(account, region)
    backend.sandbox_snapshot_quota = spec.snapshot_quota
    backend.sandbox_restore_checks = spec.restore_checks
    backend.sandbox_built = False
    for other, other_spec in specs.items():
        if other != name and other_spec.exists:
            _build_cluster(clients, backend, other, other_spec)
    if spec.exists:
        _build_cluster(clients, backend, name, spec)
    backend.sandbox_built = True  # the world is built: snapshots made from now on start "creating"


def _build_cluster(clients, backend, name: str, spec: RdsClusterWorld) -> None:
    rds = clients("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="lecture",
        MasterUserPassword="sandbox-only-password",
        DatabaseName="lecture",
        **({"Tags": [{"Key": k, "Value": v} for k, v in spec.tags.items()]} if spec.tags else {}),
    )
    for i in range(spec.members):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{name}-{i + 1}",
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )
    cluster = backend.clusters[name]
    cluster.allocated_storage = spec.storage_gb
    cluster.status = spec.status
    cluster.sandbox_busy_checks = spec.busy_checks
    cluster.sandbox_busy_creates = spec.busy_creates
    now = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC times
    for s in spec.snapshots:
        snapshot = backend.create_db_cluster_snapshot(
            name,
            s.id,
            snapshot_type="automated" if s.automated else "manual",
            tags=[{"Key": k, "Value": v} for k, v in s.tags.items()],
        )
        snapshot.created = now - timedelta(days=s.age_days)


def _shown_cluster(c):
    """A cluster as describe shows it: creating for its first checks after a restore, then busy for its busy checks."""
    if getattr(c, "sandbox_creating_checks", 0) > 0:
        c.sandbox_creating_checks -= 1
        c = copy.copy(c)
        c.status = "creating"
    elif getattr(c, "sandbox_busy_checks", 0) > 0:
        c.sandbox_busy_checks -= 1
        c = copy.copy(c)
        c.status = BUSY_STATUS
    return c


def _refuse_manual_snapshot(backend, cluster, cluster_id: str) -> None:
    """A manual snapshot of a busy cluster, or beyond the quota, is refused as RDS does."""
    from moto.rds.exceptions import InvalidDBClusterStateFault, SnapshotQuotaExceededFault

    if getattr(cluster, "sandbox_busy_creates", 0) > 0:
        cluster.sandbox_busy_creates -= 1
        raise InvalidDBClusterStateFault(f"DbCluster {cluster_id} is not in available state (it is {BUSY_STATUS})")
    quota = getattr(backend, "sandbox_snapshot_quota", None)
    if quota is not None and sum(s.snapshot_type == "manual" for s in backend.cluster_snapshots.values()) >= quota:
        raise SnapshotQuotaExceededFault()


def _shown_snapshot(s):
    """Seen creating once, available from the next describe on."""
    if s.status != "creating":
        return s
    view = copy.copy(s)
    s.status, s.percent_progress = "available", 100
    view.percent_progress = 40
    return view


def install(patches) -> None:
    """Busy checks, busy creates, the quota, and snapshots that take one describe to become available."""
    from moto.rds.models import RDSBackend

    describe_clusters = RDSBackend.describe_db_clusters
    create_snapshot = RDSBackend.create_db_cluster_snapshot
    describe_snapshots = RDSBackend.describe_db_cluster_snapshots
    restore_cluster = RDSBackend.restore_db_cluster_from_snapshot

    def restore_db_cluster_from_snapshot(self, *args, **kwargs):
        cluster = restore_cluster(self, *args, **kwargs)
        cluster.status = "available"  # what it becomes; describe shows "creating" first
        cluster.sandbox_creating_checks = getattr(self, "sandbox_restore_checks", 0)
        shown = copy.copy(cluster)
        shown.status = "creating"
        return shown

    def describe_db_clusters(self, *args, **kwargs):
        return [_shown_cluster(c) for c in describe_clusters(self, *args, **kwargs)]

    def create_db_cluster_snapshot(self, *args, **kwargs):
        names = ("db_cluster_identifier", "db_cluster_snapshot_identifier", "snapshot_type")
        given = dict(zip(names, args, strict=False)) | kwargs
        cluster_id, snapshot_id = given.get("db_cluster_identifier"), given.get("db_cluster_snapshot_identifier")
        manual = given.get("snapshot_type", "manual") == "manual"
        cluster = self.clusters.get(cluster_id)
        if manual and cluster is not None and snapshot_id not in self.cluster_snapshots:
            _refuse_manual_snapshot(self, cluster, cluster_id)
        snapshot = create_snapshot(self, *args, **kwargs)
        if manual and getattr(self, "sandbox_built", False):
            snapshot.status = "creating"
        return snapshot

    def describe_db_cluster_snapshots(self, *args, **kwargs):
        return [_shown_snapshot(s) for s in describe_snapshots(self, *args, **kwargs)]

    patches.set(RDSBackend, "describe_db_clusters", describe_db_clusters)
    patches.set(RDSBackend, "create_db_cluster_snapshot", create_db_cluster_snapshot)
    patches.set(RDSBackend, "describe_db_cluster_snapshots", describe_db_cluster_snapshots)
    patches.set(RDSBackend, "restore_db_cluster_from_snapshot", restore_db_cluster_from_snapshot)


def _others(backend, config) -> dict:
    """The customer's other clusters (restored, drill, decoys), by id: status, tags, endpoint."""
    prefix = f"{naming.PREFIX}-{config.customer}-"
    return {
        name: {
            "status": "creating" if getattr(c, "sandbox_creating_checks", 0) > 0 else c.status,
            "tags": {t["Key"]: t["Value"] for t in c.tags},
            "endpoint": c.endpoint,
        }
        for name, c in sorted(backend.clusters.items())
        if name != config.rds.cluster and name.startswith(prefix)
    }


def snapshot(clients, config) -> dict:
    """The cluster and its snapshots as the report shows them (read from moto, so no busy check is used up), and
    the customer's other clusters (restored, drill) under their own ids."""
    backend = _backend(config.account, config.region)
    cluster = backend.clusters.get(config.rds.cluster)
    if cluster is None:
        return _others(backend, config)
    snapshots = sorted(
        (s for s in backend.cluster_snapshots.values() if s.db_cluster_identifier == config.rds.cluster), key=lambda s: s.created
    )
    return {
        config.rds.cluster: {
            "status": cluster.status,
            "snapshots": [
                {
                    "id": s.db_cluster_snapshot_identifier,
                    "status": s.status,
                    "type": s.snapshot_type,
                    "tags": {t["Key"]: t["Value"] for t in s.tags},
                    "created_by_automation": any(
                        t["Key"] == naming.CREATED_BY_TAG and t["Value"] == naming.CREATED_BY for t in s.tags
                    ),
                }
                for s in snapshots
            ],
        },
        **_others(backend, config),
    }
