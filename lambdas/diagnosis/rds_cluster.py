"""Diagnosis of an Aurora cluster, attached to the page: its status, its members and theirs, recent events.
Read-only. Each part is read on its own: one that fails is named in ``missing`` with why, and the others
still travel with the page.

Its IAM is the rds_cluster kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig

EVENT_MINUTES = 60  # how far back recent events go
EVENTS = 10  # at most this many, newest first


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, cluster: str) -> dict[str, Any]:
    return rds_cluster(clients("rds"), cluster)


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def rds_cluster(rds: Any, cluster: str) -> dict[str, Any]:
    result: dict[str, Any] = {"cluster": cluster}
    missing: dict[str, str] = {}
    members: list[dict[str, Any]] = []
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster).get("DBClusters", [])
        if not found:
            missing["cluster"] = f"cluster {cluster} not found"
        else:
            c = found[0]
            result.update(
                status=c.get("Status"),
                engine=c.get("Engine"),
                engine_version=c.get("EngineVersion"),
                allocated_storage_gb=c.get("AllocatedStorage"),
            )
            members = [
                {"instance": m.get("DBInstanceIdentifier"), "writer": bool(m.get("IsClusterWriter"))}
                for m in c.get("DBClusterMembers", [])
            ]
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        missing["cluster"] = _why(exc)
    try:
        instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [cluster]}]).get("DBInstances", [])
        by_name = {i.get("DBInstanceIdentifier"): i for i in instances}
        if not members:  # the cluster part failed: the members are still known from the instances
            members = [{"instance": name} for name in by_name]
        for m in members:
            instance = by_name.get(m["instance"], {})
            m.update(status=instance.get("DBInstanceStatus", "unknown"), instance_class=instance.get("DBInstanceClass"))
    except Exception as exc:  # noqa: BLE001
        missing["members_status"] = _why(exc)
    result["members"] = members
    try:
        events = rds.describe_events(SourceIdentifier=cluster, SourceType="db-cluster", Duration=EVENT_MINUTES).get("Events", [])
        events = sorted(events, key=lambda e: str(e.get("Date") or ""), reverse=True)[:EVENTS]
        result["recent_events"] = [{"at": str(e.get("Date")), "message": str(e.get("Message"))[:300]} for e in events]
    except Exception as exc:  # noqa: BLE001
        missing["recent_events"] = _why(exc)
    if missing:
        result["missing"] = missing
    return result
