"""Runbook force-unlock-state: the runbook's `terraform force-unlock LOCK_ID`, "with extreme caution": a person
approves the exact lock shown, and it is removed only if it is still that lock.

guard   read both kinds of lock on the configured state (the DynamoDB LockID item, the S3 <key>.tflock); the
        input's lock ID must be the one held (else lock_changed / no_lock); the approval request shows it:
        ID, Who, Operation, Created, where it is


act     (after approval) re-read the lock and compare it with the plan: anything different changes nothing
        (target_changed); then delete conditionally: DynamoDB DeleteItem with ConditionExpression Info = <the Info
        shown>, S3 DeleteObject with If-Match <the .tflock's ETag>. The "<path>-md5" digest item is never read
        nor written (and IAM allows DeleteItem only on the state's own LockID).
"""

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from catalog import CustomerConfig, runbook
from catalog.runbooks.force_unlock_state import ForceUnlockStateInput
from lambdas import aws
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.state_locks import dynamodb_lock_info, lock_from_info, tflock_object
from lambdas.models.steps import PlanBase, StateLock, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("force-unlock-state")


class UnlockPlan(PlanBase):
    """force-unlock-state's plan: guard shows the lock (approval_summary), act re-reads it and removes exactly
    that lock: the DynamoDB item whose Info is ``dynamodb_info``, the .tflock whose ETag is ``tflock_etag``."""

    lock_path: str  # <state bucket>/<key>: the DynamoDB LockID
    lock_table: str
    state_bucket: str
    tflock_key: str  # <key>.tflock
    lock_id: str  # the input's: the lock a person asked to remove
    locks: list[StateLock] = Field(default_factory=list)  # every lock found on the state
    dynamodb_info: str | None = None  # the exact Info of the DynamoDB lock to remove (the delete's condition)
    tflock_etag: str | None = None  # the ETag of the .tflock to remove (the delete's If-Match)
    approval_summary: str | None = Field(default=None, max_length=1000)
    removed: list[str] = Field(default_factory=list)  # "dynamodb <table>/<LockID>", "s3 s3://<bucket>/<key>"


def _end(plan: UnlockPlan, outcome: str, message: str) -> UnlockPlan:
    plan.proceed, plan.outcome, plan.message = False, outcome, message
    return plan


def describe_lock(lock: StateLock) -> str:
    """lock <ID> (Who ..., Operation ..., Created ...): how a person recognises a lock."""
    age = f", {lock.age_minutes} min ago" if lock.age_minutes is not None else ""
    return (
        f"lock {lock.id or '(unreadable info)'} (Who {lock.who or 'unknown'}, Operation "
        f"{lock.operation or 'unknown'}, Created {lock.created or 'unknown'}{age})"
    )


def _where(plan: UnlockPlan, kind: str) -> str:
    return (
        f"DynamoDB item {plan.lock_table}/{plan.lock_path}"
        if kind == "dynamodb"
        else f"s3://{plan.state_bucket}/{plan.tflock_key}"
    )


def plan_unlock(inp: ForceUnlockStateInput, *, settings: Settings, dynamodb: Any, s3: Any, ssm: Any, now: datetime) -> UnlockPlan:
    config = settings.customer
    tf = config.terraform
    expected = config.terraform.lock_path
    if inp.lock_path is not None and inp.lock_path != expected:
        raise InvalidInput(
            f"lock_path {inp.lock_path[:300]!r} is not the configured state of customer "
            f"{config.customer} ({expected!r}); nothing was removed"
        )
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    mode, dry_run, mode_note = run.mode, run.dry_run, run.note
    plan = UnlockPlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        lock_path=expected,
        lock_table=tf.lock_table,
        state_bucket=tf.state_bucket,
        tflock_key=f"{tf.state_key}.tflock",
        lock_id=inp.lock_id,
        mode=mode,
        dry_run=dry_run,
        incident_id=inp.incident_id,
        reason=inp.reason,
        notes=[n for n in [mode_note] if n],
        locks=[],
        removed=[],
    )
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        return _end(
            plan, "refused", f"automation is off for customer {config.customer} ({source}); lock {inp.lock_id} was not removed"
        )
    info = dynamodb_lock_info(dynamodb, tf.lock_table, expected)
    tflock = tflock_object(s3, tf.state_bucket, tf.state_key)
    stale_after = tf.stale_lock_minutes
    if info is not None:
        plan.locks.append(lock_from_info("dynamodb", info, now, stale_after))
    if tflock is not None:
        plan.locks.append(lock_from_info("s3", tflock[0], now, stale_after))
    if not plan.locks:
        return _end(
            plan,
            "no_lock",
            f"no lock is held on {expected} (neither a DynamoDB item in {tf.lock_table} "
            f"nor s3://{tf.state_bucket}/{plan.tflock_key}); nothing to remove",
        )
    ours = [lk for lk in plan.locks if lk.id == inp.lock_id]
    others = [lk for lk in plan.locks if lk.id != inp.lock_id]
    if not ours:
        held = "; ".join(f"{describe_lock(lk)} at {_where(plan, lk.kind)}" for lk in others)
        return _end(
            plan,
            "lock_changed",
            (
                f"lock {inp.lock_id} is not held on {expected}; held now: {held}. Nothing was removed and no approval "
                f"was asked: check that no run is going on, then start force-unlock-state with that lock's ID"
            ),
        )
    for lk in others:
        plan.notes.append(f"the {lk.kind} {describe_lock(lk)} is not the input's lock: left alone")
    if any(lk.kind == "dynamodb" for lk in ours):
        plan.dynamodb_info = info
    if tflock is not None and any(lk.kind == "s3" for lk in ours):
        plan.tflock_etag = tflock[1]
    shown = describe_lock(ours[0])
    where = " and ".join(_where(plan, lk.kind) for lk in ours)
    if dry_run:
        return _end(
            plan,
            "would_unlock",
            f"dry-run: would remove {shown} on {expected} ({where}); nothing was removed and no approval was asked",
        )
    plan.proceed = True
    plan.summary = f"remove Terraform {shown} on {expected} ({where})"
    plan.approval_summary = (
        f"remove Terraform {shown} on {expected}: {where}. The {expected}-md5 digest item is "
        f"kept. Only if no Terraform run is going on. Reason: {inp.reason}"
    )[:1000]
    return plan


def check_plan(raw: object, config: CustomerConfig) -> UnlockPlan:
    """act trusts nothing it is given: the lock must be the configured state's, and what it removes must be the
    lock whose ID the plan names."""
    plan = parse_step(UnlockPlan, raw, "plan rejected", InvalidPlan)
    tf = config.terraform
    if plan.proceed is not True or (plan.dynamodb_info is None and plan.tflock_etag is None):
        raise InvalidPlan("plan rejected: guard did not let it proceed with a lock it read; nothing was removed")
    if (plan.lock_path, plan.lock_table, plan.state_bucket, plan.tflock_key) != (
        config.terraform.lock_path,
        tf.lock_table,
        tf.state_bucket,
        f"{tf.state_key}.tflock",
    ):
        raise InvalidPlan(
            f"plan rejected: {plan.lock_path[:300]!r} in {plan.lock_table[:255]!r} is not the "
            f"configured state's lock; nothing was removed"
        )
    if plan.dynamodb_info is not None and lock_from_info("dynamodb", plan.dynamodb_info, datetime.now(UTC), 0).id != plan.lock_id:
        raise InvalidPlan(f"plan rejected: the DynamoDB lock info it names is not lock {plan.lock_id[:100]}; nothing was removed")
    return plan


def _changes_since_approval(plan: UnlockPlan, *, dynamodb: Any, s3: Any, now: datetime) -> tuple[list[str], list[str]]:
    """The lock read again: (how it differs from the approved one, which of its parts are gone)."""
    differences, gone = [], []
    if plan.dynamodb_info is not None:
        info = dynamodb_lock_info(dynamodb, plan.lock_table, plan.lock_path)
        if info is None:
            gone.append("the DynamoDB lock item is gone")
        elif info != plan.dynamodb_info:
            differences.append(f"the DynamoDB lock is now {describe_lock(lock_from_info('dynamodb', info, now, 0))}")
    if plan.tflock_etag is not None:
        tflock = tflock_object(s3, plan.state_bucket, plan.tflock_key.removesuffix(".tflock"))
        if tflock is None:
            gone.append(f"s3://{plan.state_bucket}/{plan.tflock_key} is gone")
        elif tflock[1] != plan.tflock_etag or lock_from_info("s3", tflock[0], now, 0).id != plan.lock_id:
            differences.append(
                f"s3://{plan.state_bucket}/{plan.tflock_key} is now "
                f"{describe_lock(lock_from_info('s3', tflock[0], now, 0))} (ETag {tflock[1]}, "
                f"approved: {plan.tflock_etag})"
            )
    return differences, gone


def _delete_dynamodb_lock(plan: UnlockPlan, done: UnlockPlan, dynamodb: Any) -> bool:
    """Deletes the DynamoDB lock item if it is still the approved one; False (``done`` says why): it was not."""
    try:
        dynamodb.delete_item(
            TableName=plan.lock_table,
            Key={"LockID": {"S": plan.lock_path}},
            ConditionExpression="Info = :info",
            ExpressionAttributeValues={":info": {"S": plan.dynamodb_info}},
        )
    except ClientError as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        done.outcome = "target_changed"
        done.message = (
            f"the DynamoDB lock {plan.lock_path} changed between the re-read and the delete "
            f"(conditional delete refused); nothing was removed"
        )
        return False
    done.removed.append(f"dynamodb {plan.lock_table}/{plan.lock_path}")
    return True


def _delete_tflock(plan: UnlockPlan, done: UnlockPlan, s3: Any) -> bool:
    """Deletes the S3 .tflock if it still has the approved ETag; False (``done`` says why): it had not."""
    try:
        s3.delete_object(Bucket=plan.state_bucket, Key=plan.tflock_key, IfMatch=plan.tflock_etag)
    except ClientError as exc:
        # 412: another ETag; 409: a concurrent PUT/DELETE won; 404: gone (S3 conditional deletes)
        if aws.error_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"):
            raise
        done.outcome = "target_changed"
        done.message = (
            f"s3://{plan.state_bucket}/{plan.tflock_key} changed between the re-read and the delete "
            f"(If-Match {plan.tflock_etag} refused); "
            + (f"already removed: {', '.join(done.removed)}" if done.removed else "nothing was removed")
        )
        return False
    done.removed.append(f"s3 s3://{plan.state_bucket}/{plan.tflock_key}")
    return True


def apply_unlock(
    plan: UnlockPlan, *, dynamodb: Any, s3: Any, now: datetime, approval: dict[str, Any] | None = None
) -> UnlockPlan:
    """Re-read the lock; if it is still the one approved, delete it conditionally; otherwise change nothing."""
    done = plan.model_copy(deep=True)
    done.verify = False
    differences, gone = _changes_since_approval(plan, dynamodb=dynamodb, s3=s3, now=now)
    if not differences and gone and len(gone) == (plan.dynamodb_info is not None) + (plan.tflock_etag is not None):
        done.outcome = "no_lock"
        done.message = f"lock {plan.lock_id} was released meanwhile ({'; '.join(gone)}); nothing was removed"
        return done
    if differences or gone:
        done.outcome = "target_changed"
        done.message = (
            f"the lock changed since it was shown for approval: {'; '.join(differences + gone)}; "
            f"nothing was removed. Run check-state-lock, then ask again for the lock held now"
        )
        return done
    if plan.dynamodb_info is not None and not _delete_dynamodb_lock(plan, done, dynamodb):
        return done
    if plan.tflock_etag is not None and not _delete_tflock(plan, done, s3):
        return done
    lock = next(lk for lk in plan.locks if lk.id == plan.lock_id)
    by = f", approved by {approval.get('by')}" if approval and approval.get("by") else ""
    done.outcome = "unlocked"
    done.message = (
        f"removed Terraform {describe_lock(lock)} on {plan.lock_path}: {', '.join(done.removed)}"
        f"{by}; the {plan.lock_path}-md5 digest item was not touched"
    )
    return done


handler = kit.handler(RUNBOOK, UnlockPlan, guard=kit.guard(plan_unlock), act=kit.act(apply_unlock, check=check_plan))
