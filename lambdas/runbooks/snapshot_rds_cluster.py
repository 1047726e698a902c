"""Runbook snapshot-rds-cluster: the runbook's "Create RDS snapshot", safe to run by alarm, schedule or hand.

guard   validate the input, read mode and cluster, apply the alarm cooldown -> a plan (the snapshot's name
        comes from the execution, so a re-run of the same execution makes no second snapshot) or an outcome


act     take the snapshot; a busy cluster is retried through the verify loop with a growing wait
verify  (busy) try again; (creating) poll until available, then prune the automation's old snapshots
"""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

from catalog import CustomerConfig, naming, runbook
from catalog.runbooks.snapshot_rds_cluster import SnapshotRdsClusterInput
from lambdas import aws
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic import rds_restore
from lambdas.logic.rds_restore import own_snapshots, snapshot_tags
from lambdas.logic.store import Store
from lambdas.models.steps import PlanBase, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("snapshot-rds-cluster")


class SnapshotPlan(PlanBase):
    """snapshot-rds-cluster's plan: guard makes it, act and verify add to it; its last form is the outcome.
    phase: "create" (not tried yet), "busy" (the cluster was busy: retried with backoff), "creating" (the
    snapshot exists, verify polls it), "done"."""

    cluster: str
    trigger: Literal["manual", "alarm", "schedule"]
    execution: str
    started: str  # the execution's start time (ISO): the snapshot's name and how long it took
    snapshot: str  # lecture-<c>-<manual|auto>-YYYYMMDD-HHMMSS-<suffix>
    tags: dict[str, str]
    phase: Literal["create", "busy", "creating", "done"] = "create"
    busy_checks: int = 0  # how often the cluster was found busy
    max_busy_checks: int
    status: str | None = None  # the snapshot's status
    size_gb: int | None = None  # AllocatedStorage
    took_seconds: int | None = None  # from the execution's start to available
    pruned: list[str] | None = None  # deleted by prune (would be, in dry-run)
    kept: list[str] | None = None  # the automation's snapshots prune kept


BUSY_CHECKS = 6  # how often a busy cluster is tried before cluster_busy
BUSY_WAIT_FIRST, BUSY_WAIT_MAX = 30, 300  # seconds: 30, 60, 120, 240, 300 (about 12.5 minutes in all)
_SUFFIX = 6  # hex characters of the execution name's hash: two executions in the same second differ
# RDS tag values: letters, digits, white space and _ . : / = + - @, at most 256 characters


def snapshot_name(customer: str, trigger: str, started: datetime, execution: str) -> str:
    """lecture-<c>-<manual|auto>-YYYYMMDD-HHMMSS-<suffix>: the same for every run of one execution."""
    kind = "manual" if trigger == "manual" else "auto"
    suffix = hashlib.sha256(execution.encode()).hexdigest()[:_SUFFIX]
    return f"{naming.snapshot_prefix(customer)}{kind}-{started.astimezone(UTC):%Y%m%d-%H%M%S}-{suffix}"


def _busy_wait(checks: int) -> int:
    return int(min(BUSY_WAIT_FIRST * 2 ** max(checks - 1, 0), BUSY_WAIT_MAX))


def _finish(plan: SnapshotPlan, outcome: str, message: str) -> SnapshotPlan:
    plan.phase, plan.outcome, plan.message = "done", outcome, message
    plan.verify, plan.settled = False, True
    return plan


def _cluster_status(rds: Any, cluster: str) -> str | None:
    """The cluster's status, None when it does not exist."""
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster).get("DBClusters", [])
    except ClientError as exc:
        if aws.error_code(exc) == "DBClusterNotFoundFault":
            return None
        raise
    return str(found[0].get("Status")) if found else None


def _not_found(cluster: str) -> str:
    return f"cluster {cluster} does not exist; no snapshot was taken (check rds.cluster in the customer file)"


# --- prune -------------------------------------------------------------------------------------------
def prune_candidates(snapshots: list[dict[str, Any]], *, keep: str, cutoff: datetime) -> tuple[list[str], list[str]]:
    """(to delete, to keep) among the automation's snapshots (newest first): older than the cutoff goes, except
    the newest one and the one just taken."""
    delete, kept = [], []
    for i, s in enumerate(snapshots):
        name, created = str(s["DBClusterSnapshotIdentifier"]), s.get("SnapshotCreateTime")
        old = isinstance(created, datetime) and created < cutoff
        if i == 0 or name == keep or not old or s.get("Status") != "available":
            kept.append(name)
        else:
            delete.append(name)
    return delete, kept


def prune(rds: Any, config: CustomerConfig, *, keep: str, now: datetime) -> tuple[list[str], list[str], list[str]]:
    """Delete what prune_candidates says; returns (deleted, kept, problems). One failed delete stops nothing."""
    cutoff = now - timedelta(days=config.rds.snapshot_retention_days)
    delete, kept = prune_candidates(own_snapshots(rds, config), keep=keep, cutoff=cutoff)
    deleted, problems = [], []
    for name in delete:
        try:
            rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=name)
            deleted.append(name)
        except ClientError as exc:
            problems.append(f"could not delete {name}: {aws.error_code(exc)}: {exc.response.get('Error', {}).get('Message')}")
    return deleted, kept, problems


# --- guard -----------------------------------------------------------------------------------------------
def _scope(cluster: str) -> str:
    return f"{RUNBOOK.name}#{cluster}"


def plan_snapshot(
    inp: SnapshotRdsClusterInput,
    *,
    settings: Settings,
    rds: Any,
    ssm: Any,
    store: Store,
    now: datetime,
    execution: str,
    started: datetime,
) -> SnapshotPlan:
    config = settings.customer
    if inp.cluster != config.rds.cluster:
        raise InvalidInput(
            f"cluster {inp.cluster!r} is not customer {config.customer}'s cluster "
            f"(configured: {config.rds.cluster!r}); nothing was changed"
        )
    if not execution:
        raise InvalidInput(f"{RUNBOOK.name}: guard needs the execution's name (the state machine passes it)")
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    mode, dry_run, mode_note = run.mode, run.dry_run, run.note
    reason = inp.reason or {"manual": "by hand", "alarm": "on alarm", "schedule": "daily schedule"}[inp.trigger]
    name = snapshot_name(config.customer, inp.trigger, started, execution)
    plan = SnapshotPlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        cluster=inp.cluster,
        mode=mode,
        dry_run=dry_run,
        trigger=inp.trigger,
        execution=execution,
        started=started.isoformat(),
        snapshot=name,
        tags=snapshot_tags(config, reason=reason, execution=execution, trigger=inp.trigger),
        incident_id=inp.incident_id,
        reason=reason,
        notes=[n for n in [mode_note] if n],
        max_busy_checks=BUSY_CHECKS,
        max_polls=RUNBOOK.verify_max_polls,
        wait_seconds=RUNBOOK.verify_interval_seconds,
    )
    plan.proceed = False
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        plan.outcome, plan.message = (
            "refused",
            (f"automation is off for customer {config.customer} ({source}); no snapshot of {inp.cluster} was taken"),
        )
        return plan
    status = _cluster_status(rds, inp.cluster)
    if status is None:
        return _finish(plan, "cluster_not_found", _not_found(inp.cluster))
    refused = _cooldown(plan, config, store, dry_run, now)
    if refused:
        return refused
    if dry_run:
        cutoff = now - timedelta(days=config.rds.snapshot_retention_days)
        # the snapshot it would take is the newest: every old one of the automation's would go
        plan.pruned, plan.kept = prune_candidates(
            [{"DBClusterSnapshotIdentifier": name}] + own_snapshots(rds, config), keep=name, cutoff=cutoff
        )
        plan.kept = [k for k in plan.kept if k != name]
        return _finish(
            plan,
            "would_snapshot",
            (
                f"dry-run: would snapshot {inp.cluster} (status {status}) as {name}, then prune "
                + (
                    f"{len(plan.pruned)} of the automation's snapshots older than {config.rds.snapshot_retention_days} "
                    f"days: {', '.join(plan.pruned)}"
                    if plan.pruned
                    else f"nothing (no snapshot of the automation's is older than {config.rds.snapshot_retention_days} days)"
                )
            ),
        )
    plan.proceed = True
    plan.summary = f"snapshot {inp.cluster} (status {status}) as {name}, trigger {inp.trigger}"
    return plan


def _cooldown(plan: SnapshotPlan, config: CustomerConfig, store: Store, dry_run: bool, now: datetime) -> SnapshotPlan | None:
    """An alarm snapshot at most once per cooldown; a re-run of the execution that holds it goes on."""
    minutes = config.rds.snapshot_on_alarm_cooldown_minutes
    if plan.trigger != "alarm" or minutes <= 0:
        return None
    scope = _scope(plan.cluster)
    if dry_run:
        until = store.cooldown_until(scope)
    else:
        until = store.start_cooldown(scope, minutes * 60, holder=plan.execution)
        if until is not None and store.cooldown_holder(scope) == plan.execution:
            until = None
    if until is None:
        return None
    last = until - timedelta(minutes=minutes)
    return _finish(
        plan,
        "cooldown",
        (
            f"no snapshot of {plan.cluster}: the last alarm snapshot was taken at {last:%Y-%m-%dT%H:%M:%SZ}, and "
            f"alarms snapshot at most once per {minutes} minutes (rds.snapshot_on_alarm_cooldown_minutes); the next "
            f"is allowed from {until:%Y-%m-%dT%H:%M:%SZ}"
        ),
    )


# --- act and verify ------------------------------------------------------------------------------------
def check_plan(raw: object, config: CustomerConfig) -> SnapshotPlan:
    """act and verify trust nothing they are given: the configured cluster, a name the automation gives this
    execution, its own tags, and bounds no larger than declared. A forged plan changes nothing."""
    if not isinstance(raw, dict):
        raise InvalidPlan("plan rejected: expected the plan guard returned (a JSON object); nothing was changed")
    if raw.get("proceed") is not True:
        raise InvalidPlan("plan rejected: guard did not let it proceed; nothing was changed")
    if raw.get("cluster") != config.rds.cluster:
        raise InvalidPlan(
            f"plan rejected: cluster {str(raw.get('cluster'))[:100]!r} is not the configured "
            f"{config.rds.cluster!r}; nothing was changed"
        )
    plan = parse_step(SnapshotPlan, raw, "plan rejected", InvalidPlan)
    expected = snapshot_name(config.customer, plan.trigger, kit.started_at(RUNBOOK, plan.started), plan.execution)
    if plan.snapshot != expected:
        raise InvalidPlan(
            f"plan rejected: snapshot name {plan.snapshot[:100]!r} is not the automation's name for "
            f"execution {plan.execution[:80]!r} ({expected}); nothing was changed"
        )
    if (
        plan.tags.get(naming.CREATED_BY_TAG) != naming.CREATED_BY
        or plan.tags.get("execution") != rds_restore.tag_value(plan.execution)
        or plan.tags.get("customer") != config.customer
    ):
        raise InvalidPlan(
            "plan rejected: the snapshot's tags are not the automation's (created-by, customer, execution); nothing was changed"
        )
    if (
        plan.max_polls > RUNBOOK.verify_max_polls
        or plan.max_busy_checks > BUSY_CHECKS
        or not (0 <= plan.wait_seconds <= BUSY_WAIT_MAX)
    ):
        raise InvalidPlan("plan rejected: its polling bounds exceed the runbook's; nothing was changed")
    if plan.dry_run or plan.mode != "enforce":
        raise InvalidPlan(f"plan rejected: mode {plan.mode} (dry-run {plan.dry_run}) makes no change; nothing was changed")
    return plan


def _busy(plan: SnapshotPlan, why: str) -> SnapshotPlan:
    plan.busy_checks += 1
    waited = sum(_busy_wait(i) for i in range(1, plan.busy_checks))
    if plan.busy_checks >= plan.max_busy_checks:
        return _finish(
            plan,
            "cluster_busy",
            (
                f"cluster {plan.cluster} stayed busy ({why}) through {plan.busy_checks} checks over {waited} s; no "
                f"snapshot was taken. Take it by hand once the cluster is available: start {RUNBOOK.name} with "
                f'{{"cluster": "{plan.cluster}"}}'
            ),
        )
    plan.phase, plan.verify, plan.settled = "busy", True, False
    plan.wait_seconds = _busy_wait(plan.busy_checks)
    plan.message = (
        f"cluster {plan.cluster} is busy ({why}); check {plan.busy_checks} of {plan.max_busy_checks}, "
        f"next in {plan.wait_seconds} s"
    )
    return plan


def take_snapshot(plan: SnapshotPlan, *, rds: Any) -> SnapshotPlan:
    """Create the snapshot once the cluster is available; a busy cluster goes back to the verify loop."""
    p = plan.model_copy(deep=True)
    status = _cluster_status(rds, p.cluster)
    if status is None:
        return _finish(p, "cluster_not_found", _not_found(p.cluster))
    if status != "available":
        return _busy(p, f"status {status}")
    try:
        rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier=p.snapshot,
            DBClusterIdentifier=p.cluster,
            Tags=[{"Key": k, "Value": v} for k, v in p.tags.items()],
        )
    except ClientError as exc:
        code, text = aws.error_code(exc), str(exc.response.get("Error", {}).get("Message", ""))
        if code == "InvalidDBClusterStateFault":
            return _busy(p, f"InvalidDBClusterStateFault: {text}")
        if code == "SnapshotQuotaExceeded":
            return _finish(
                p,
                "quota_exceeded",
                (
                    f"no snapshot of {p.cluster}: the account's DB cluster snapshot quota is reached "
                    f"(SnapshotQuotaExceeded). Delete snapshots that are no longer needed or ask AWS for a higher "
                    f"quota, then run {RUNBOOK.name} again"
                ),
            )
        if code == "DBClusterNotFoundFault":
            return _finish(p, "cluster_not_found", _not_found(p.cluster))
        if code != "DBClusterSnapshotAlreadyExistsFault":
            raise
        adopted = _adopt(p, rds)
        if adopted is not None:
            return adopted
    p.phase, p.verify, p.settled = "creating", True, False
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.message = f"snapshot {p.snapshot} of {p.cluster} started"
    return p


def _adopt(p: SnapshotPlan, rds: Any) -> SnapshotPlan | None:
    """The name exists: this execution made it before (act retried, a redrive) -> None, carry on with it."""
    existing = rds_restore.describe_snapshot(rds, p.snapshot)
    if existing is not None and rds_restore.tags(existing).get("execution") == p.tags["execution"]:
        p.notes.append(f"snapshot {p.snapshot} was already made by this execution: adopted, not made again")
        return None
    return _finish(
        p,
        "snapshot_failed",
        f"a snapshot named {p.snapshot} exists but was not made by execution {p.execution}; nothing was changed",
    )


def check_snapshot(plan: SnapshotPlan, *, rds: Any, config: CustomerConfig, now: datetime) -> SnapshotPlan:
    if plan.phase == "busy":
        return take_snapshot(plan, rds=rds)
    p = plan.model_copy(deep=True)
    p.polls += 1
    found = rds_restore.describe_snapshot(rds, p.snapshot)
    if found is None:
        return _finish(p, "snapshot_failed", f"snapshot {p.snapshot} of {p.cluster} disappeared while it was being created")
    p.status = str(found.get("Status"))
    if p.status == "available":
        p.size_gb = int(found.get("AllocatedStorage") or 0)
        p.took_seconds = max(int((now - kit.started_at(RUNBOOK, p.started)).total_seconds()), 0)
        p.pruned, p.kept, problems = prune(rds, config, keep=p.snapshot, now=now)
        p.notes += problems
        pruned = f"pruned {len(p.pruned)} ({', '.join(p.pruned)})" if p.pruned else "pruned none"
        return _finish(
            p,
            "snapshot_created",
            (
                f"snapshot {p.snapshot} of {p.cluster} is available: {p.size_gb} GiB, took {p.took_seconds} s "
                f"({p.polls} check(s)); {pruned} of the automation's snapshots older than "
                f"{config.rds.snapshot_retention_days} days, kept {len(p.kept)}"
                + (f"; {'; '.join(problems)}" if problems else "")
            ),
        )
    if p.status in ("failed", "deleting", "incompatible-restore"):
        return _finish(p, "snapshot_failed", f"snapshot {p.snapshot} of {p.cluster} is {p.status}")
    if p.polls >= p.max_polls:
        return _finish(
            p,
            "snapshot_timed_out",
            (
                f"snapshot {p.snapshot} of {p.cluster} is still {p.status} after {p.polls} checks "
                f"({found.get('PercentProgress', '?')} %); it may still finish: look at it in the RDS console"
            ),
        )
    p.settled, p.verify = False, True
    p.wait_seconds = RUNBOOK.verify_interval_seconds
    p.message = f"snapshot {p.snapshot} is {p.status} ({found.get('PercentProgress', '?')} %), check {p.polls}"
    return p


handler = kit.handler(
    RUNBOOK,
    SnapshotPlan,
    guard=kit.guard(plan_snapshot),
    act=kit.act(take_snapshot, check=check_plan),
    verify=kit.verify(check_snapshot, check=check_plan),
)
