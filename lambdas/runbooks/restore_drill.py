"""Runbook restore-drill: the runbook's monthly "test backup and recovery procedures", measured.

guard   read mode, the automation's latest available snapshot, and whether a drill cluster is left over
        -> a plan (the drill cluster's name comes from the execution's start time) or an outcome


act     restore the snapshot to lecture-<c>-drill-<yyyymmddhhmm>, tagged drill=true and created-by
verify  (creating) poll until available: rto_seconds; then delete THAT cluster, checked by name and tags
        (deleting) poll until it is gone
"""

from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from catalog import CustomerConfig, naming, runbook
from catalog.runbooks.restore_drill import RestoreDrillInput
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic import rds_restore
from lambdas.logic.rds_restore import ClusterRestore, snapshot_tags
from lambdas.models.steps import parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("restore-drill")


class DrillPlan(ClusterRestore):
    """restore-drill's plan. phase: "restore" (not started), "creating" (verify polls the drill cluster),
    "deleting" (the drill cluster is being deleted), "done"."""

    drill_cluster: str  # lecture-<c>-drill-<yyyymmddhhmm>
    phase: Literal["restore", "creating", "deleting", "done"] = "restore"
    available_at: str | None = None
    rto_seconds: int | None = None  # the recovery-time figure: restore call to available
    deleted: bool | None = None


DELETE_POLLS = 40  # 20 minutes for the drill cluster to go


def drill_cluster_name(customer: str, started: datetime) -> str:
    """lecture-<c>-drill-<yyyymmddhhmm>: the same for every run of one execution."""
    return f"{naming.drill_cluster_prefix(customer)}{started.astimezone(UTC):%Y%m%d%H%M}"


def is_drill_cluster(config: CustomerConfig, cluster: dict[str, Any]) -> bool:
    """A cluster the drill may delete: its name AND its tags say it is a drill cluster of the automation's."""
    name = str(cluster.get("DBClusterIdentifier") or "")
    found = rds_restore.tags(cluster)
    return (
        name.startswith(naming.drill_cluster_prefix(config.customer))
        and name != config.rds.cluster
        and found.get(naming.DRILL_TAG) == "true"
        and found.get(naming.CREATED_BY_TAG) == naming.CREATED_BY
    )


def drill_clusters(rds: Any, config: CustomerConfig) -> list[str]:
    """The drill clusters that exist (a drill going on, or one left over)."""
    found: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = rds.describe_db_clusters(**kwargs)
        found += [str(c["DBClusterIdentifier"]) for c in page.get("DBClusters", []) if is_drill_cluster(config, c)]
        if not page.get("Marker"):
            return found
        kwargs["Marker"] = page["Marker"]


def _finish(plan: DrillPlan, outcome: str, message: str) -> DrillPlan:
    plan.phase, plan.outcome, plan.message = "done", outcome, message
    plan.proceed = plan.proceed if plan.proceed is not None else False
    plan.verify, plan.settled = False, True
    return plan


# --- guard -----------------------------------------------------------------------------------------------
def plan_drill(inp: RestoreDrillInput, *, settings: Settings, rds: Any, ssm: Any, execution: str, started: datetime) -> DrillPlan:
    config = settings.customer
    if inp.cluster is not None and inp.cluster != config.rds.cluster:
        raise InvalidInput(
            f"cluster {inp.cluster!r} is not customer {config.customer}'s cluster (configured: "
            f"{config.rds.cluster!r}); nothing was changed"
        )
    if not execution:
        raise InvalidInput(f"{RUNBOOK.name}: guard needs the execution's name (the state machine passes it)")
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    mode, dry_run, mode_note = run.mode, run.dry_run, run.note
    reason = inp.reason or {"manual": "by hand", "alarm": "on alarm", "schedule": "monthly schedule"}[inp.trigger]
    name = drill_cluster_name(config.customer, started)
    plan = DrillPlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        cluster=config.rds.cluster,
        drill_cluster=name,
        snapshot="",
        snapshot_created="",
        mode=mode,
        dry_run=dry_run,
        trigger=inp.trigger,
        execution=execution,
        started=started.isoformat(),
        incident_id=inp.incident_id,
        reason=reason,
        notes=[n for n in [mode_note] if n],
        max_polls=RUNBOOK.verify_max_polls,
        wait_seconds=RUNBOOK.verify_interval_seconds,
        proceed=False,
        tags={**snapshot_tags(config, reason=reason, execution=execution, trigger=inp.trigger), naming.DRILL_TAG: "true"},
    )
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        return _finish(plan, "refused", f"automation is off for customer {config.customer} ({source}); no drill")
    left = drill_clusters(rds, config)
    if left:
        return _finish(
            plan,
            "drill_running",
            (
                f"drill cluster(s) exist already: {', '.join(left)} (a drill going on, or one left over); no new drill. "
                f"If none is running, delete them (they are tagged drill=true)"
            ),
        )
    found = rds_restore.latest_own_snapshot(rds, config)
    if found is None:
        return _finish(
            plan,
            "no_snapshot",
            (
                f"the automation has no available snapshot of {config.rds.cluster} to drill: backups cannot be shown "
                f"to restore. Check snapshot-rds-cluster's schedule (schedules.rds_snapshot)"
            ),
        )
    plan.snapshot = str(found["DBClusterSnapshotIdentifier"])
    plan.snapshot_created = rds_restore.iso(found.get("SnapshotCreateTime"))
    plan.engine = str(found.get("Engine") or "aurora-postgresql")
    plan.subnet_group, plan.security_groups = rds_restore.network_of(rds_restore.describe_cluster(rds, plan.cluster))
    what = (
        f"restore {plan.snapshot} (created {plan.snapshot_created}) to the temporary cluster {name}, time it "
        f"until available, then delete {name}"
    )
    if dry_run:
        return _finish(plan, "would_drill", f"dry-run: would {what}")
    plan.proceed = True
    plan.summary = what
    return plan


# --- act and verify ------------------------------------------------------------------------------------
def check_plan(raw: object, config: CustomerConfig) -> DrillPlan:
    """act and verify trust nothing they are given: the drill cluster's name comes from the execution's start,
    its tags are the drill's, the snapshot is the automation's."""
    if not isinstance(raw, dict):
        raise InvalidPlan("plan rejected: expected the plan guard returned (a JSON object); nothing was changed")
    if raw.get("proceed") is not True:
        raise InvalidPlan("plan rejected: guard did not let it proceed; nothing was changed")
    plan = parse_step(DrillPlan, raw, "plan rejected", InvalidPlan)
    expected = drill_cluster_name(config.customer, kit.started_at(RUNBOOK, plan.started))
    if plan.drill_cluster != expected or plan.cluster != config.rds.cluster:
        raise InvalidPlan(
            f"plan rejected: drill cluster {plan.drill_cluster[:80]!r} is not the drill's name for "
            f"this execution ({expected}); nothing was changed"
        )
    if plan.tags.get(naming.DRILL_TAG) != "true" or plan.tags.get(naming.CREATED_BY_TAG) != naming.CREATED_BY:
        raise InvalidPlan("plan rejected: the drill cluster's tags are not the drill's; nothing was changed")
    if not plan.snapshot.startswith(naming.snapshot_prefix(config.customer)):
        raise InvalidPlan(f"plan rejected: snapshot {plan.snapshot[:80]!r} is not the automation's; nothing was changed")
    if plan.max_polls > RUNBOOK.verify_max_polls or not 0 <= plan.wait_seconds <= RUNBOOK.verify_interval_seconds:
        raise InvalidPlan("plan rejected: its polling bounds exceed the runbook's; nothing was changed")
    if plan.dry_run or plan.mode != "enforce":
        raise InvalidPlan(f"plan rejected: mode {plan.mode} (dry-run {plan.dry_run}) makes no change; nothing was changed")
    return plan


def start_drill(plan: DrillPlan, *, rds: Any, now: datetime, config: CustomerConfig) -> DrillPlan:
    p = plan.model_copy(deep=True)
    found = rds_restore.describe_snapshot(rds, p.snapshot)
    if found is None or found.get("Status") != "available":
        return _finish(p, "no_snapshot", f"snapshot {p.snapshot} is gone or not available since guard chose it; no drill")
    # the network comes from the original cluster, read here, never from the plan
    subnet_group, security_groups = rds_restore.network_of(rds_restore.describe_cluster(rds, p.cluster))
    problem = rds_restore.network_problem(config, p.cluster, subnet_group, security_groups)
    if problem:
        return _finish(p, "drill_failed", problem)
    try:
        created = rds_restore.restore(
            rds,
            cluster=p.drill_cluster,
            snapshot=p.snapshot,
            engine=p.engine,
            subnet_group=subnet_group,
            security_groups=security_groups,
            tags=p.tags,
        )
    except ClientError as exc:
        if rds_restore.code(exc) == "DBClusterAlreadyExistsFault":
            return _finish(p, "drill_running", f"cluster {p.drill_cluster} exists already; no drill")
        raise
    p.restore_started = now.isoformat()
    p.phase, p.status = "creating", str(created.get("Status") or "creating")
    p.verify, p.settled = True, False
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.message = f"drill: restoring {p.snapshot} to {p.drill_cluster}"
    return p


def _delete(p: DrillPlan, rds: Any, config: CustomerConfig, result: tuple[str, str]) -> DrillPlan:
    """Delete the drill cluster, and only it: same name as planned, drill name prefix, drill and created-by tags."""
    found = rds_restore.describe_cluster(rds, p.drill_cluster)
    if found is None:
        p.deleted = True
        return _finish(p, *result)
    if found.get("DBClusterIdentifier") != p.drill_cluster or not is_drill_cluster(config, found):
        return _finish(
            p,
            "cleanup_failed",
            (
                f"{p.drill_cluster} does not carry the drill's name and tags (drill=true, created-by); it was NOT "
                f"deleted. {result[1]}"
            ),
        )
    try:
        rds.delete_db_cluster(DBClusterIdentifier=p.drill_cluster, SkipFinalSnapshot=True)
    except ClientError as exc:
        return _finish(
            p,
            "cleanup_failed",
            (
                f"could not delete the drill cluster {p.drill_cluster}: {rds_restore.code(exc)}: "
                f"{exc.response.get('Error', {}).get('Message')}; delete it by hand. {result[1]}"
            ),
        )
    p.phase, p.polls = "deleting", 0
    p.max_polls = min(p.max_polls, DELETE_POLLS)
    p.verify, p.settled = True, False
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.outcome, p.message = result  # what the drill found; final once the cluster is gone
    return p


def check_drill(plan: DrillPlan, *, rds: Any, config: CustomerConfig, now: datetime) -> DrillPlan:
    p = plan.model_copy(deep=True)
    p.polls += 1
    if p.phase == "deleting":
        if rds_restore.describe_cluster(rds, p.drill_cluster) is None:
            p.deleted = True
            return _finish(p, p.outcome or "drill_failed", f"{p.message}; {p.drill_cluster} deleted")
        if p.polls >= p.max_polls:
            return _finish(
                p,
                "cleanup_failed",
                (f"{p.drill_cluster} is still being deleted after {p.polls} checks; look at it in the RDS console. {p.message}"),
            )
        p.verify, p.settled, p.wait_seconds = True, False, RUNBOOK.verify_interval_seconds
        return p
    found = rds_restore.describe_cluster(rds, p.drill_cluster)
    if found is None:
        return _finish(p, "drill_failed", f"drill cluster {p.drill_cluster} disappeared while it was restored")
    p.status = str(found.get("Status"))
    if p.status == "available":
        p.available_at = now.isoformat()
        p.endpoint = str(found.get("Endpoint") or "")
        p.rto_seconds = max(int((now - rds_restore.started_at(p.restore_started or p.started)).total_seconds()), 0)
        return _delete(
            p,
            rds,
            config,
            (
                "drill_passed",
                (
                    f"drill passed: {p.snapshot} (created {p.snapshot_created}) restored to {p.drill_cluster} and available "
                    f"in {p.rto_seconds} s (recovery time, {p.polls} check(s))"
                ),
            ),
        )
    if p.status in rds_restore.FAILED_STATUSES or p.polls >= p.max_polls:
        why = f"is {p.status}" if p.status in rds_restore.FAILED_STATUSES else f"is still {p.status} after {p.polls} checks"
        return _delete(p, rds, config, ("drill_failed", f"drill failed: {p.drill_cluster} restored from {p.snapshot} {why}"))
    p.verify, p.settled = True, False
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.message = f"drill cluster {p.drill_cluster} is {p.status}, check {p.polls}"
    return p


handler = kit.handler(
    RUNBOOK,
    DrillPlan,
    guard=kit.guard(plan_drill),
    act=kit.act(start_drill, check=check_plan),
    verify=kit.verify(check_drill, check=check_plan),
)
