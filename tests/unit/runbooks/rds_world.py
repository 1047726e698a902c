"""The RDS world restore-rds-cluster's and restore-drill's tests share: the customer's cluster and its snapshots
in moto."""

from datetime import UTC, datetime, timedelta

from moto.rds.models import rds_backends

from catalog import naming
from tests.unit.builders import ACCOUNT, NOW, REGION

CLUSTER = "lecture-dhbw-cluster"
RESTORED = "lecture-dhbw-cluster-restored"
STARTED = datetime(2026, 11, 26, 9, 15, 7, tzinfo=UTC)
OURS = {naming.CREATED_BY_TAG: naming.CREATED_BY, "customer": "dhbw"}
APPROVAL = {"answer": "approved", "by": "alice", "comment": "go", "at": "2026-11-26T09:20:00+00:00"}


def seed(name: str, *, age_days: float, tags: dict | None = None):
    s = rds_backends[ACCOUNT][REGION].create_db_cluster_snapshot(
        CLUSTER, name, tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    )
    s.created = (NOW - timedelta(days=age_days)).replace(tzinfo=None)
    return s


def clusters() -> set[str]:
    return set(rds_backends[ACCOUNT][REGION].clusters)
