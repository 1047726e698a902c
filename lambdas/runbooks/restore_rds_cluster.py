"""Runbook restore-rds-cluster: the runbook's "Database Recovery", behind an approval.

guard   validate the input, read mode, the snapshot (named, or the automation's latest available one) and
        whether lecture-<c>-cluster-restored exists -> a plan with approval_summary, or an outcome
(approval: the generic RequestApproval step; a rejection or a timeout never reaches act)
act     re-read the snapshot: gone or not the one approved -> target_changed; else restore it
verify  poll the restored cluster until available: its endpoint and how long it took
"""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from catalog import CustomerConfig, naming, runbook
from catalog.runbooks.restore_rds_cluster import RestoreRdsClusterInput
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic import rds_restore
from lambdas.logic.rds_restore import ClusterRestore, snapshot_tags
from lambdas.models.steps import parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("restore-rds-cluster")


class RestoreClusterPlan(ClusterRestore):
    """restore-rds-cluster's plan: guard names the snapshot and the new cluster (what the approver sees), act
    re-reads the snapshot and restores, verify polls the new cluster until available."""

    restored_cluster: str  # lecture-<c>-cluster-restored
    snapshot_type: str = ""
    approval_summary: str | None = None  # set only when it asks for approval
    approval: dict[str, Any] | None = None  # who approved, when, their comment (act copies it from its input)
    took_seconds: int | None = None  # from the restore call to available


def _finish(plan: RestoreClusterPlan, outcome: str, message: str) -> RestoreClusterPlan:
    plan.outcome, plan.message = outcome, message
    plan.proceed = plan.proceed if plan.proceed is not None else False
    plan.verify, plan.settled = False, True
    return plan


def _exists_message(name: str, found: dict[str, Any]) -> str:
    return (
        f"cluster {name} exists already (status {found.get('Status')}, created "
        f"{rds_restore.iso(found.get('ClusterCreateTime'))}); nothing was restored. A restore never overwrites "
        f"it: delete or rename it first if it is no longer needed"
    )


def _snapshot_problem(config: CustomerConfig, name: str, found: dict[str, Any]) -> str | None:
    if found.get("DBClusterIdentifier") != config.rds.cluster:
        return (
            f"snapshot {name} is of cluster {found.get('DBClusterIdentifier')!r}, not of customer "
            f"{config.customer}'s {config.rds.cluster}; nothing was restored"
        )
    if found.get("Status") != "available":
        return f"snapshot {name} is {found.get('Status')}, not available; nothing was restored"
    return None


# --- guard -----------------------------------------------------------------------------------------------
def plan_restore(
    inp: RestoreRdsClusterInput, *, settings: Settings, rds: Any, ssm: Any, execution: str, started: datetime
) -> RestoreClusterPlan:
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
    reason = inp.reason or "by hand"
    target = naming.restored_cluster_name(config.customer)
    plan = RestoreClusterPlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        cluster=config.rds.cluster,
        restored_cluster=target,
        snapshot=inp.snapshot or "",
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
        tags={**snapshot_tags(config, reason=reason, execution=execution, trigger=inp.trigger)},
    )
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        return _finish(plan, "refused", f"automation is off for customer {config.customer} ({source}); nothing was restored")
    existing = rds_restore.describe_cluster(rds, target)
    if existing is not None:
        return _finish(plan, "already_exists", _exists_message(target, existing))
    if inp.snapshot:
        found = rds_restore.describe_snapshot(rds, inp.snapshot)
        if found is None:
            return _finish(plan, "snapshot_not_found", f"snapshot {inp.snapshot} does not exist; nothing was restored")
        problem = _snapshot_problem(config, inp.snapshot, found)
        if problem:
            return _finish(plan, "snapshot_not_usable", problem)
    else:
        found = rds_restore.latest_own_snapshot(rds, config)
        if found is None:
            return _finish(
                plan,
                "snapshot_not_found",
                (
                    f"the automation has no available snapshot of {config.rds.cluster}; nothing was restored. Name "
                    f'one with "snapshot", or take one with snapshot-rds-cluster'
                ),
            )
        plan.notes.append("no snapshot named: the automation's latest available one")
    plan.snapshot = str(found["DBClusterSnapshotIdentifier"])
    plan.snapshot_created = rds_restore.iso(found.get("SnapshotCreateTime"))
    plan.snapshot_type = str(found.get("SnapshotType") or "")
    plan.engine = str(found.get("Engine") or "aurora-postgresql")
    plan.tags["restored-from"] = plan.snapshot[:256]
    plan.subnet_group, plan.security_groups = rds_restore.network_of(rds_restore.describe_cluster(rds, plan.cluster))
    what = (
        f"restore snapshot {plan.snapshot} ({plan.snapshot_type or 'unknown type'}, created "
        f"{plan.snapshot_created}) of {plan.cluster} to the NEW cluster {target} (engine {plan.engine}, subnet "
        f"group {plan.subnet_group or 'default'}); the original {plan.cluster} is not touched"
    )
    if dry_run:
        return _finish(plan, "would_restore", f"dry-run: would {what}")
    plan.proceed = True
    plan.summary = what
    plan.approval_summary = f"{what}. Reason: {reason}"[:1000]
    return plan


# --- act and verify ------------------------------------------------------------------------------------
def check_plan(raw: object, config: CustomerConfig) -> RestoreClusterPlan:
    """act and verify trust nothing they are given: the configured cluster, the one restore target, bounds."""
    if not isinstance(raw, dict):
        raise InvalidPlan("plan rejected: expected the plan guard returned (a JSON object); nothing was changed")
    if raw.get("proceed") is not True:
        raise InvalidPlan("plan rejected: guard did not let it proceed; nothing was changed")
    plan = parse_step(RestoreClusterPlan, raw, "plan rejected", InvalidPlan)
    if plan.cluster != config.rds.cluster or plan.restored_cluster != naming.restored_cluster_name(config.customer):
        raise InvalidPlan(
            f"plan rejected: it restores {plan.restored_cluster[:80]!r} from {plan.cluster[:80]!r}; "
            f"only {naming.restored_cluster_name(config.customer)} from {config.rds.cluster} is "
            f"allowed; nothing was changed"
        )
    if plan.restored_cluster == plan.cluster:
        raise InvalidPlan("plan rejected: the restore target is the original cluster; nothing was changed")
    if plan.tags.get(naming.CREATED_BY_TAG) != naming.CREATED_BY:
        raise InvalidPlan("plan rejected: the new cluster's tags are not the automation's; nothing was changed")
    if plan.max_polls > RUNBOOK.verify_max_polls or not 0 <= plan.wait_seconds <= RUNBOOK.verify_interval_seconds:
        raise InvalidPlan("plan rejected: its polling bounds exceed the runbook's; nothing was changed")
    if plan.dry_run or plan.mode != "enforce":
        raise InvalidPlan(f"plan rejected: mode {plan.mode} (dry-run {plan.dry_run}) makes no change; nothing was changed")
    return plan


def start_restore(
    plan: RestoreClusterPlan, *, rds: Any, config: CustomerConfig, now: datetime, approval: dict[str, Any] | None = None
) -> RestoreClusterPlan:
    """The snapshot must still be the one approved, and the target still free; then restore."""
    p = plan.model_copy(deep=True)
    if approval is not None:
        p.approval = approval
    found = rds_restore.describe_snapshot(rds, p.snapshot)
    if found is None:
        return _finish(
            p,
            "target_changed",
            f"snapshot {p.snapshot} no longer exists (it was there when the restore was approved); nothing was restored",
        )
    created = rds_restore.iso(found.get("SnapshotCreateTime"))
    if created != p.snapshot_created:
        return _finish(
            p,
            "target_changed",
            (
                f"snapshot {p.snapshot} is not the one approved: created {created}, approved {p.snapshot_created}; "
                f"nothing was restored"
            ),
        )
    problem = _snapshot_problem(config, p.snapshot, found)
    if problem:
        return _finish(p, "target_changed", f"since the approval, {problem}")
    existing = rds_restore.describe_cluster(rds, p.restored_cluster)
    if existing is not None:
        return _finish(p, "already_exists", _exists_message(p.restored_cluster, existing))
    # the network comes from the original cluster, read here, never from the plan: the plan only showed it
    subnet_group, security_groups = rds_restore.network_of(rds_restore.describe_cluster(rds, p.cluster))
    problem = rds_restore.network_problem(
        config, p.cluster, subnet_group, security_groups, approved=(p.subnet_group, p.security_groups)
    )
    if problem:
        return _finish(p, "target_changed", problem)
    try:
        created_cluster = rds_restore.restore(
            rds,
            cluster=p.restored_cluster,
            snapshot=p.snapshot,
            engine=p.engine,
            subnet_group=subnet_group,
            security_groups=security_groups,
            tags=p.tags,
        )
    except ClientError as exc:
        if rds_restore.code(exc) == "DBClusterAlreadyExistsFault":
            return _finish(p, "already_exists", f"cluster {p.restored_cluster} exists already; nothing was restored")
        if rds_restore.code(exc) == "DBClusterSnapshotNotFoundFault":
            return _finish(p, "target_changed", f"snapshot {p.snapshot} no longer exists; nothing was restored")
        raise
    p.restore_started = now.isoformat()
    p.status = str(created_cluster.get("Status") or "creating")
    p.verify, p.settled = True, False
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.message = f"restoring {p.snapshot} to {p.restored_cluster} ({p.status})"
    return p


def check_restore(plan: RestoreClusterPlan, *, rds: Any, now: datetime) -> RestoreClusterPlan:
    p = plan.model_copy(deep=True)
    p.polls += 1
    found = rds_restore.describe_cluster(rds, p.restored_cluster)
    if found is None:
        return _finish(p, "restore_failed", f"cluster {p.restored_cluster} disappeared while it was being restored")
    p.status = str(found.get("Status"))
    if p.status == "available":
        p.endpoint = str(found.get("Endpoint") or "")
        p.took_seconds = max(int((now - rds_restore.started_at(p.restore_started or p.started)).total_seconds()), 0)
        return _finish(
            p,
            "restored",
            (
                f"{p.restored_cluster} is available, restored from {p.snapshot}: endpoint {p.endpoint}, took "
                f"{p.took_seconds} s ({p.polls} check(s)). It has no DB instances yet (a restore creates the cluster "
                f"only): add one to connect. {p.cluster} was not touched"
            ),
        )
    if p.status in rds_restore.FAILED_STATUSES:
        return _finish(
            p,
            "restore_failed",
            f"cluster {p.restored_cluster} is {p.status}: the restore of {p.snapshot} did not work; {p.cluster} was not touched",
        )
    if p.polls >= p.max_polls:
        return _finish(
            p,
            "restore_timed_out",
            (
                f"cluster {p.restored_cluster} is still {p.status} after {p.polls} checks; it may still become "
                f"available: look at it in the RDS console"
            ),
        )
    p.verify, p.settled = True, False
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.message = f"{p.restored_cluster} is {p.status}, check {p.polls}"
    return p


handler = kit.handler(
    RUNBOOK,
    RestoreClusterPlan,
    guard=kit.guard(plan_restore),
    act=kit.act(start_restore, check=check_plan),
    verify=kit.verify(check_restore, check=check_plan),
)
