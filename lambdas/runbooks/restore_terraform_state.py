"""Runbook restore-terraform-state: the runbook's "If state is corrupted, restore from backup", with an approval and
the checks people skip.

guard   refuse while a Terraform lock is held; read the chosen backup (.backup or .YYYYMMDD) and the current state;
        the backup must be JSON of version 4 with a serial and a lineage, of the state's lineage unless
        allow_lineage_change; the approval request shows both and the difference in serial and resource count


act     (after approval) no lock may have been taken meanwhile; copy the current (corrupted) state, exactly the
        version guard read (CopySourceIfMatch), to <prefix>terraform.tfstate.corrupted-<time> in the backup bucket;
        read the backup guard read (If-Match); write it over the state only if the state is still what guard read
        (PutObject If-Match on its ETag; If-None-Match * when there was none); set the state's -md5 digest item
        (when it exists) to the restored state's MD5, as Terraform does on each write, or Terraform refuses it
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from catalog import CustomerConfig, runbook
from catalog.kinds import backup_key
from catalog.runbooks.restore_terraform_state import RestoreTerraformStateInput
from lambdas import aws
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.state_locks import find_locks
from lambdas.models.steps import PlanBase, StateLock, StepModel, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("restore-terraform-state")


class StateFile(StepModel):
    """A state object as read: its identity (ETag, VersionId), what it holds, and whether it is a valid state."""

    bucket: str
    key: str
    etag: str | None = None  # None: the object does not exist
    version_id: str | None = None
    digest: str | None = None  # MD5 of the body, hex
    size: int | None = None
    valid: bool = False  # JSON of version 4 with an integer serial and a lineage
    problem: str | None = None  # why it is not valid
    serial: int | None = None
    lineage: str | None = None
    resources: int | None = None  # len(resources)


class RestoreStatePlan(PlanBase):
    """restore-terraform-state's plan: guard checks the backup against the state and shows the difference
    (approval_summary); act copies the state as guard saw it to ``corrupted_key``, then writes the backup over
    the state only if both are still what guard read."""

    state_bucket: str
    state_key: str
    backup_bucket: str
    backup_key: str  # the chosen backup: <prefix>terraform.tfstate.backup or .YYYYMMDD
    corrupted_key: str  # <prefix>terraform.tfstate.corrupted-YYYYMMDDTHHMMSSZ (the execution's start)
    lock_path: str
    lock_table: str
    allow_lineage_change: bool = False
    state: StateFile | None = None
    backup: StateFile | None = None
    serial_change: int | None = None  # backup serial - state serial (None: the state has no readable serial)
    resource_change: int | None = None  # backup resources - state resources
    approval_summary: str | None = Field(default=None, max_length=1000)
    written: dict[str, str] = Field(default_factory=dict)  # "s3://bucket/key" -> ETag written
    digest_updated: bool | None = None


_MISSING = ("NoSuchKey", "404", "NotFound")
_DENIED = ("AccessDenied", "403")
_CONFLICT = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
CORRUPTED = "corrupted-"  # <prefix>terraform.tfstate.corrupted-YYYYMMDDTHHMMSSZ


def _end(plan: RestoreStatePlan, outcome: str, message: str) -> RestoreStatePlan:
    plan.proceed, plan.outcome, plan.message = False, outcome, message
    return plan


def stamp(started: str | None, now: datetime) -> str:
    """YYYYMMDDTHHMMSSZ of the execution's start (a retried act writes the same key), else of now."""
    if started:
        try:
            return datetime.fromisoformat(started.replace("Z", "+00:00")).strftime("%Y%m%dT%H%M%SZ")
        except ValueError:
            pass
    return now.strftime("%Y%m%dT%H%M%SZ")


def inspect(body: bytes, found: StateFile) -> StateFile:
    """What a state body holds: valid when it is JSON of version 4 with an integer serial and a lineage."""
    found.digest = hashlib.md5(body, usedforsecurity=False).hexdigest()  # Terraform's digest of a state
    found.size = len(body)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        found.problem = f"not JSON ({exc})"
        return found
    if not isinstance(data, dict):
        found.problem = f"not a JSON object but {type(data).__name__}"
        return found
    serial, lineage, resources = data.get("serial"), data.get("lineage"), data.get("resources")
    found.serial = serial if isinstance(serial, int) and not isinstance(serial, bool) else None
    found.lineage = lineage if isinstance(lineage, str) and lineage else None
    found.resources = len(resources) if isinstance(resources, list) else None
    if data.get("version") != 4:
        found.problem = f"not a Terraform state of version 4 (version {data.get('version')!r})"
    elif found.serial is None or found.lineage is None:
        found.problem = f"no integer 'serial' and 'lineage' (serial {serial!r}, lineage {lineage!r})"
    elif found.resources is None:
        found.problem = "no 'resources' list"
    else:
        found.valid = True
    return found


def read_file(s3: Any, bucket: str, key: str, *, if_match: str | None = None) -> tuple[StateFile, bytes]:
    """The object and its body; etag None and a problem when it does not exist or cannot be read."""
    found = StateFile(bucket=bucket, key=key)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key, **({"IfMatch": if_match} if if_match else {}))
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in _MISSING:
            found.problem = "does not exist"
            return found, b""
        if code in _DENIED:
            found.problem = "cannot be read (AccessDenied: it does not exist, or the read is refused)"
            return found, b""
        raise
    body = obj["Body"].read()
    found.etag = str(obj["ETag"])
    version = obj.get("VersionId")
    found.version_id = version if version not in (None, "null") else None
    return inspect(body, found), body


def _locks(plan: RestoreStatePlan, config: CustomerConfig, dynamodb: Any, s3: Any, now: datetime) -> list[StateLock]:
    tf = config.terraform
    return find_locks(
        dynamodb,
        s3,
        table=tf.lock_table,
        bucket=tf.state_bucket,
        key=tf.state_key,
        now=now,
        stale_after_minutes=tf.stale_lock_minutes,
        notes=plan.notes,
    )


def _describe(f: StateFile) -> str:
    if f.valid:
        return f"serial {f.serial}, lineage {f.lineage}, {f.resources} resources"
    return (
        f"{f.problem}"
        + (f"; serial {f.serial}" if f.serial is not None else "")
        + (f", lineage {f.lineage}" if f.lineage else "")
    )


def _signed(n: int) -> str:
    return f"{n:+d}"


def _lineage_holds(plan: RestoreStatePlan, state: StateFile, backup: StateFile, *, allowed: bool) -> bool:
    """False: the backup is of another state (another lineage) and the input did not allow that. Notes what it
    could not compare, or the lineage change it allowed."""
    if state.lineage is not None and state.lineage != backup.lineage:
        if not allowed:
            return False
        plan.notes.append(f"lineage changes from {state.lineage} to {backup.lineage} (allow_lineage_change)")
    elif state.lineage is None and state.etag is not None:
        plan.notes.append(f"the state has no readable lineage ({state.problem}): the lineage was not compared")
    return True


def _difference(plan: RestoreStatePlan, state: StateFile, backup: StateFile) -> str:
    """What the restore changes in serial and resources, set on the plan and in words."""
    diff = []
    if state.serial is not None and backup.serial is not None:
        plan.serial_change = backup.serial - state.serial
        diff.append(f"serial {state.serial} -> {backup.serial} ({_signed(plan.serial_change)})")
    if state.resources is not None and backup.resources is not None:
        plan.resource_change = backup.resources - state.resources
        diff.append(f"resources {state.resources} -> {backup.resources} ({_signed(plan.resource_change)})")
    return "; ".join(diff) or "serial and resources of the state unreadable"


def plan_restore(
    inp: RestoreTerraformStateInput,
    *,
    settings: Settings,
    s3: Any,
    dynamodb: Any,
    ssm: Any,
    now: datetime,
    started: str | None = None,
) -> RestoreStatePlan:
    config = settings.customer
    tf = config.terraform
    if inp.state_key is not None and inp.state_key != tf.state_key:
        raise InvalidInput(
            f"state_key {inp.state_key[:200]!r} is not the configured state of customer "
            f"{config.customer} ({tf.state_key!r}); nothing was restored"
        )
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    mode, dry_run, mode_note = run.mode, run.dry_run, run.note
    plan = RestoreStatePlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        state_bucket=tf.state_bucket,
        state_key=tf.state_key,
        backup_bucket=tf.backup_bucket,
        backup_key=backup_key(config, inp.backup.lstrip(".")),
        corrupted_key=backup_key(config, CORRUPTED + stamp(started, now)),
        lock_path=config.terraform.lock_path,
        lock_table=tf.lock_table,
        allow_lineage_change=inp.allow_lineage_change,
        mode=mode,
        dry_run=dry_run,
        incident_id=inp.incident_id,
        reason=inp.reason,
        notes=[n for n in [mode_note] if n],
        written={},
    )
    state_where = f"s3://{tf.state_bucket}/{tf.state_key}"
    backup_where = f"s3://{tf.backup_bucket}/{plan.backup_key}"
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        return _end(
            plan, "refused", f"automation is off for customer {config.customer} ({source}); {state_where} was not restored"
        )
    held = _locks(plan, config, dynamodb, s3, now)
    if held:
        return _end(
            plan,
            "state_locked",
            (
                f"a Terraform lock is held on {state_where}: "
                + "; ".join(
                    f"{lk.kind} lock {lk.id or '(unreadable)'} by {lk.who or 'unknown'} "
                    f"({lk.operation or 'unknown operation'}) since {lk.created or 'an unknown time'}"
                    for lk in held
                )
                + "; a run could overwrite the restore. Nothing was restored. If the lock is stale, remove it with "
                "force-unlock-state first"
            ),
        )
    backup, _ = read_file(s3, tf.backup_bucket, plan.backup_key)
    plan.backup = backup
    if not backup.valid:
        return _end(plan, "backup_invalid", f"the backup {backup_where} {backup.problem}; nothing was restored")
    state, _ = read_file(s3, tf.state_bucket, tf.state_key)
    plan.state = state
    if state.etag is None:
        plan.notes.append(
            f"the state {state_where} {state.problem}: the backup is written only if there is still "
            f"none (If-None-Match), and there is no corrupted state to keep"
        )
    if not _lineage_holds(plan, state, backup, allowed=inp.allow_lineage_change):
        return _end(
            plan,
            "lineage_changed",
            (
                f"the backup {backup_where} has lineage {backup.lineage}, the state {state_where} has lineage "
                f"{state.lineage}: it is a backup of another state. Nothing was restored; start again with "
                f'"allow_lineage_change": true only if that state is the one to restore'
            ),
        )
    if state.digest == backup.digest:
        return _end(
            plan,
            "noop",
            f"the state {state_where} already is the backup {backup_where} ({_describe(backup)}); nothing to restore",
        )
    difference = _difference(plan, state, backup)
    current = _describe(state) if state.etag is not None else str(state.problem)
    what = f"restore {state_where} from {backup_where} ({_describe(backup)}); the state now: {current}; {difference}"
    if dry_run:
        return _end(plan, "would_restore", f"dry-run: would {what}; nothing was written and no approval was asked")
    plan.proceed = True
    plan.summary = what
    keep = (
        f"first the current state is copied to s3://{tf.backup_bucket}/{plan.corrupted_key}"
        if state.etag is not None
        else "there is no current state to keep"
    )
    plan.approval_summary = (f"{what}; {keep}; written only if the state is unchanged. Reason: {inp.reason}")[:1000]
    return plan


def check_plan(raw: object, config: CustomerConfig) -> RestoreStatePlan:
    """act trusts nothing it is given: the configured state, a backup key and a corrupted-copy key under the
    configured prefix, a checked backup."""
    plan = parse_step(RestoreStatePlan, raw, "plan rejected", InvalidPlan)
    tf = config.terraform
    if plan.proceed is not True or plan.backup is None or not plan.backup.valid or plan.state is None:
        raise InvalidPlan("plan rejected: guard did not let it proceed with a checked backup; nothing was restored")
    prefix = backup_key(config, "")
    suffix = plan.backup_key[len(prefix) :]
    corrupted = plan.corrupted_key[len(prefix) :]
    if (
        (plan.state_bucket, plan.state_key, plan.backup_bucket) != (tf.state_bucket, tf.state_key, tf.backup_bucket)
        or (plan.state.bucket, plan.state.key) != (tf.state_bucket, tf.state_key)
        or (plan.backup.bucket, plan.backup.key) != (tf.backup_bucket, plan.backup_key)
        or not plan.backup_key.startswith(prefix)
        or not (suffix == "backup" or (len(suffix) == 8 and suffix.isdigit()))
        or not plan.corrupted_key.startswith(prefix + CORRUPTED)
        or len(corrupted) != len(CORRUPTED) + 16
        or plan.lock_path != config.terraform.lock_path
        or plan.lock_table != tf.lock_table
    ):
        raise InvalidPlan(
            f"plan rejected: it is not a restore of the configured state s3://{tf.state_bucket}/"
            f"{tf.state_key} from s3://{tf.backup_bucket}/{prefix}terraform.tfstate.<backup|YYYYMMDD>; "
            f"nothing was restored"
        )
    if plan.state.lineage is not None and plan.state.lineage != plan.backup.lineage and not plan.allow_lineage_change:
        raise InvalidPlan(
            "plan rejected: the backup is of another lineage than the state and the plan does not "
            "allow a lineage change; nothing was restored"
        )
    return plan


def _held(done: RestoreStatePlan, config: CustomerConfig, dynamodb: Any, s3: Any, now: datetime) -> RestoreStatePlan | None:
    held = _locks(done, config, dynamodb, s3, now)
    if not held:
        return None
    return _changed(
        done,
        f"a Terraform lock was taken since the approval ({held[0].kind} lock "
        f"{held[0].id or '(unreadable)'} by {held[0].who or 'unknown'})",
    )


def _check_objects_again(
    done: RestoreStatePlan, s3: Any, state: StateFile, backup: StateFile, state_where: str
) -> RestoreStatePlan | None:
    """Read the backup and the state as guard read them (If-Match) and check them again; a refusal, or None."""
    try:
        source, _ = read_file(s3, done.backup_bucket, done.backup_key, if_match=backup.etag)
        current, _ = (
            read_file(s3, done.state_bucket, done.state_key, if_match=state.etag) if state.etag is not None else (state, b"")
        )
    except ClientError as exc:
        if aws.error_code(exc) not in _CONFLICT:
            raise
        return _changed(done, f"the state {state_where} or the backup changed since guard read them")
    if source.etag is None or (state.etag is not None and current.etag is None):
        return _changed(done, f"the state {state_where} or the backup is gone since guard read them")
    return _recheck(done, current, source)


def _recheck(done: RestoreStatePlan, current: StateFile, source: StateFile) -> RestoreStatePlan | None:
    """Guard's checks again, on the objects as act reads them, not as the plan says they were."""
    if not source.valid:
        return _end(
            done,
            "backup_invalid",
            f"the backup s3://{done.backup_bucket}/{done.backup_key} {source.problem}; nothing was restored",
        )
    if current.lineage is not None and current.lineage != source.lineage and not done.allow_lineage_change:
        return _end(
            done,
            "lineage_changed",
            (
                f"the backup s3://{done.backup_bucket}/{done.backup_key} has lineage {source.lineage}, the state has "
                f"lineage {current.lineage}: it is a backup of another state. Nothing was restored"
            ),
        )
    if current.serial is not None and source.serial is not None and source.serial - current.serial != done.serial_change:
        return _changed(
            done,
            f"the serial change is {_signed(source.serial - current.serial)}, not the {done.serial_change} that was approved",
        )
    return None


def _changed(done: RestoreStatePlan, message: str) -> RestoreStatePlan:
    done.outcome = "target_changed"
    written = ", ".join(done.written)
    done.message = f"{message}; " + (
        f"written: {written} (the corrupted state's copy), the state was not" if written else "nothing was written"
    )
    return done


def apply_restore(
    plan: RestoreStatePlan,
    *,
    s3: Any,
    dynamodb: Any,
    config: CustomerConfig,
    now: datetime,
    approval: dict[str, Any] | None = None,
) -> RestoreStatePlan:
    done = plan.model_copy(deep=True)
    done.verify = False
    state, backup = plan.state, plan.backup
    assert state is not None and backup is not None  # check_plan
    state_where = f"s3://{plan.state_bucket}/{plan.state_key}"
    # 0. no lock taken since, and guard's checks again on the objects themselves (not another lineage or serial)
    refused = _held(done, config, dynamodb, s3, now) or _check_objects_again(done, s3, state, backup, state_where)
    if refused is not None:
        return refused
    # 1. keep the corrupted state: exactly the version guard read, or nothing
    if state.etag is not None:
        corrupted = f"s3://{plan.backup_bucket}/{plan.corrupted_key}"
        try:
            copied = s3.copy_object(
                Bucket=plan.backup_bucket,
                Key=plan.corrupted_key,
                CopySource={"Bucket": plan.state_bucket, "Key": plan.state_key},
                CopySourceIfMatch=state.etag,
                TaggingDirective="REPLACE",
            )
        except ClientError as exc:
            if aws.error_code(exc) not in _CONFLICT + _MISSING:
                raise
            return _changed(done, f"the state {state_where} changed since guard read it (ETag {state.etag})")
        done.written[corrupted] = str(copied.get("CopyObjectResult", {}).get("ETag", ""))
    # 2. the backup guard checked, not another one
    try:
        again, body = read_file(s3, plan.backup_bucket, plan.backup_key, if_match=backup.etag)
    except ClientError as exc:
        if aws.error_code(exc) not in _CONFLICT:
            raise
        return _changed(done, f"the backup s3://{plan.backup_bucket}/{plan.backup_key} changed since guard read it")
    if again.etag is None or again.digest != backup.digest:
        return _changed(
            done,
            f"the backup s3://{plan.backup_bucket}/{plan.backup_key} changed since guard read it "
            f"({again.problem or 'another digest'})",
        )
    # 3. over the state, only if it is still what guard read
    condition = {"IfMatch": state.etag} if state.etag is not None else {"IfNoneMatch": "*"}
    try:
        put = s3.put_object(Bucket=plan.state_bucket, Key=plan.state_key, Body=body, ContentType="application/json", **condition)
    except ClientError as exc:
        if aws.error_code(exc) not in _CONFLICT + _MISSING:
            raise
        return _changed(
            done,
            f"the state {state_where} changed since guard read it ({'ETag ' + state.etag if state.etag else 'it did not exist'})",
        )
    done.written[state_where] = str(put.get("ETag", ""))
    # 4. Terraform compares the state with its digest item: give it the restored state's
    try:
        dynamodb.update_item(
            TableName=plan.lock_table,
            Key={"LockID": {"S": f"{plan.lock_path}-md5"}},
            UpdateExpression="SET Digest = :digest",
            ConditionExpression="attribute_exists(LockID)",
            ExpressionAttributeValues={":digest": {"S": str(backup.digest)}},
        )
        done.digest_updated = True
    except ClientError as exc:
        if aws.error_code(exc) not in ("ConditionalCheckFailedException", "ResourceNotFoundException"):
            raise
        done.digest_updated = False
        done.notes.append(f"no digest item {plan.lock_path}-md5 in {plan.lock_table} (no DynamoDB locking): none to update")
    by = f"; approved by {approval.get('by')}" if approval and approval.get("by") else ""
    kept = (
        f"the corrupted state was kept at s3://{plan.backup_bucket}/{plan.corrupted_key}, then " if state.etag is not None else ""
    )
    done.outcome = "restored"
    done.message = (
        f"{kept}{state_where} was restored from s3://{plan.backup_bucket}/{plan.backup_key} "
        f"({_describe(backup)})"
        + (f"; serial {_signed(plan.serial_change)}" if plan.serial_change is not None else "")
        + (f", resources {_signed(plan.resource_change)}" if plan.resource_change is not None else "")
        + ("; digest item updated" if done.digest_updated else "")
        + by
    )
    return done


handler = kit.handler(RUNBOOK, RestoreStatePlan, guard=kit.guard(plan_restore), act=kit.act(apply_restore, check=check_plan))
