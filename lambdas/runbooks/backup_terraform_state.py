"""Runbook backup-terraform-state: "copy the state to s3://terraform-state-backup/lecture-$CUSTOMER/" from the
operations runbook, with the checks people skip.

guard   read the state and the last backup (.backup); refuse a rollback (serial down) or a replacement (lineage
        changed); same serial and digest -> unchanged; otherwise a plan naming exactly the version it checked


act     copy that version (CopySourceIfMatch on its ETag, VersionId when versioned) to .YYYYMMDD, then .backup
verify  both copies exist with the ETag the copy returned
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from catalog import CustomerConfig, runbook
from catalog.kinds import backup_key
from catalog.runbooks.backup_terraform_state import BackupTerraformStateInput
from lambdas import aws
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.models.steps import Alert, PlanBase, StepModel, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("backup-terraform-state")


class StateVersion(StepModel):
    """What the state backup checked: a state object's identity (or the last backup's)."""

    serial: int
    lineage: str
    digest: str  # MD5 of the body, hex
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None


class BackupPlan(PlanBase):
    """backup-terraform-state's plan: guard checks the state against the last backup, act copies exactly the
    checked version to both keys, verify checks both copies."""

    state_bucket: str
    state_key: str
    backup_bucket: str
    dated_key: str  # <prefix>terraform.tfstate.YYYYMMDD
    backup_key: str  # <prefix>terraform.tfstate.backup
    versioning: bool | None = None
    state: StateVersion | None = None
    last_backup: StateVersion | None = None
    warnings: list[str] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    written: dict[str, str] = Field(default_factory=dict)  # key -> ETag of the copy


_MISSING = ("NoSuchKey", "404", "NotFound", "NoSuchVersion")


class StateProblem(Exception):
    """The state cannot be backed up: (outcome, message)."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def _end(plan: BackupPlan, outcome: str, message: str) -> BackupPlan:
    plan.proceed, plan.outcome, plan.message = False, outcome, message
    return plan


def dated_suffix(started: str | None, now: datetime) -> str:
    """YYYYMMDD of the execution's start (a re-run of the same execution writes the same key), else of now."""
    if started:
        try:
            return datetime.fromisoformat(started.replace("Z", "+00:00")).strftime("%Y%m%d")
        except ValueError:
            pass
    return now.strftime("%Y%m%d")


def parse_state(body: bytes, where: str) -> tuple[int, str]:
    """(serial, lineage) of a version 4 state; StateProblem("state_invalid") otherwise."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateProblem("state_invalid", f"{where} is not JSON ({exc}); nothing was copied") from None
    if not isinstance(data, dict) or data.get("version") != 4:
        version = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise StateProblem(
            "state_invalid", f"{where} is not a Terraform state of version 4 (version {version!r}); nothing was copied"
        )
    serial, lineage = data.get("serial"), data.get("lineage")
    if isinstance(serial, bool) or not isinstance(serial, int) or not isinstance(lineage, str) or not lineage:
        raise StateProblem(
            "state_invalid",
            f"{where} has no integer 'serial' and 'lineage' (serial {serial!r}, lineage {lineage!r}); nothing was copied",
        )
    return serial, lineage


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()  # the state's digest, as Terraform keeps it


def read_state(s3: Any, bucket: str, key: str, *, versioned: bool) -> StateVersion:
    where = f"s3://{bucket}/{key}"
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in _MISSING:
            raise StateProblem("state_missing", f"the state {where} does not exist; nothing was copied") from None
        if code in ("AccessDenied", "403"):
            raise StateProblem(
                "state_missing",
                f"the state {where} cannot be read (AccessDenied: it does not exist, or the read is refused); nothing was copied",
            ) from None
        raise
    body = obj["Body"].read()
    serial, lineage = parse_state(body, f"the state {where}")
    version_id = obj.get("VersionId") if versioned else None
    return StateVersion(
        serial=serial,
        lineage=lineage,
        digest=_md5(body),
        etag=obj["ETag"],
        size=len(body),
        version_id=version_id if version_id not in (None, "null") else None,
    )


def read_last_backup(s3: Any, bucket: str, key: str) -> StateVersion | None:
    """The .backup copy, or None when there is none yet (listed first: without ListBucket a miss is a 403)."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    if not any(o.get("Key") == key for o in listed):
        return None
    obj = s3.get_object(Bucket=bucket, Key=key)
    body = obj["Body"].read()
    serial, lineage = parse_state(body, f"the last backup s3://{bucket}/{key}")
    return StateVersion(serial=serial, lineage=lineage, digest=_md5(body), etag=obj["ETag"], size=len(body))


def plan_backup(
    inp: BackupTerraformStateInput, *, settings: Settings, s3: Any, ssm: Any, now: datetime, started: str | None = None
) -> BackupPlan:
    config = settings.customer
    tf = config.terraform
    if inp.state_key != tf.state_key:
        raise InvalidInput(
            f"state_key {inp.state_key[:200]!r} is not the configured state of customer "
            f"{config.customer} ({tf.state_key!r}); nothing was copied"
        )
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    mode, dry_run, mode_note = run.mode, run.dry_run, run.note
    plan = BackupPlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        state_bucket=tf.state_bucket,
        state_key=tf.state_key,
        backup_bucket=tf.backup_bucket,
        dated_key=backup_key(config, dated_suffix(started, now)),
        backup_key=backup_key(config, "backup"),
        mode=mode,
        dry_run=dry_run,
        incident_id=inp.incident_id,
        reason=inp.reason,
        notes=[n for n in [mode_note] if n],
        warnings=[],
        alerts=[],
        written={},
        max_polls=RUNBOOK.verify_max_polls,
        wait_seconds=RUNBOOK.verify_interval_seconds,
    )
    if mode == "off":
        source = run.off_source(settings.mode_parameter)
        return _end(plan, "refused", f"automation is off for customer {config.customer} ({source}); the state was not backed up")
    status = s3.get_bucket_versioning(Bucket=tf.state_bucket).get("Status")
    plan.versioning = status == "Enabled"
    if not plan.versioning:
        warning = (
            f"the state bucket {tf.state_bucket} has no versioning (status {status or 'never enabled'}): "
            f"an overwritten or deleted state cannot be recovered from S3 itself; HashiCorp recommends "
            f"versioning on the state bucket"
        )
        plan.warnings.append(warning)
        plan.alerts.append(
            Alert(
                key=f"state-versioning/{tf.state_bucket}",
                action="trigger",
                severity="P3",
                summary=f"lecture-{config.customer}: {warning}"[:1024],
                details={
                    "bucket": tf.state_bucket,
                    "versioning": status or "never enabled",
                    "fix": f"aws s3api put-bucket-versioning --bucket {tf.state_bucket} "
                    f"--versioning-configuration Status=Enabled",
                },
            )
        )
    try:
        state = plan.state = read_state(s3, tf.state_bucket, tf.state_key, versioned=plan.versioning)
        last = plan.last_backup = read_last_backup(s3, tf.backup_bucket, plan.backup_key)
    except StateProblem as problem:
        return _end(plan, problem.outcome, _with_warnings(plan, str(problem)))
    backup_where = f"s3://{tf.backup_bucket}/{plan.backup_key}"
    if last is not None:
        if state.lineage != last.lineage:
            return _end(
                plan,
                "lineage_changed",
                _with_warnings(
                    plan,
                    (
                        f"possible state replacement: the state's lineage {state.lineage} (serial {state.serial}) differs "
                        f"from the last backup's lineage {last.lineage} (serial {last.serial}); {backup_where} was left "
                        f"untouched and nothing was copied. Check who replaced the state before the next apply"
                    ),
                ),
            )
        if state.serial < last.serial:
            return _end(
                plan,
                "serial_regressed",
                _with_warnings(
                    plan,
                    (
                        f"possible state rollback: the state's serial {state.serial} is lower than the last backup's "
                        f"serial {last.serial} (lineage {state.lineage}); {backup_where} was left untouched and nothing "
                        f"was copied. Restore from {backup_where} if the rollback was not intended"
                    ),
                ),
            )
        if state.serial == last.serial and state.digest == last.digest:
            return _end(
                plan,
                "unchanged",
                _with_warnings(
                    plan, (f"the state is unchanged since the last backup (serial {state.serial}, same digest); no new copy")
                ),
            )
        if state.serial == last.serial:
            plan.notes.append(
                f"same serial {state.serial} as the last backup but a different digest: copied, "
                f"so .backup holds what Terraform holds"
            )
    else:
        plan.notes.append(f"no earlier backup at {backup_where}: this is the first")
    if dry_run:
        return _end(
            plan,
            "would_back_up",
            _with_warnings(
                plan,
                (
                    f"dry-run: would copy the state (serial {state.serial}, lineage {state.lineage}) to "
                    f"s3://{tf.backup_bucket}/{plan.dated_key} and {backup_where}"
                ),
            ),
        )
    plan.proceed = True
    plan.summary = (
        f"copy s3://{plan.state_bucket}/{plan.state_key} (serial {state.serial}) to "
        f"s3://{tf.backup_bucket}/{plan.dated_key} and {backup_where}"
    )
    return plan


def _with_warnings(plan: BackupPlan, message: str) -> str:
    return "; ".join([message, *(f"warning: {w}" for w in plan.warnings)])


def check_plan(raw: object, config: CustomerConfig) -> BackupPlan:
    """act trusts nothing it is given: the source must be the configured state, the targets the configured
    backup keys under the configured prefix."""
    plan = parse_step(BackupPlan, raw, "plan rejected", InvalidPlan)
    tf = config.terraform
    if plan.proceed is not True or plan.state is None or not plan.state.etag:
        raise InvalidPlan("plan rejected: guard did not let it proceed with a checked state; nothing was copied")
    if (plan.state_bucket, plan.state_key) != (tf.state_bucket, tf.state_key):
        raise InvalidPlan(
            f"plan rejected: s3://{plan.state_bucket[:63]}/{plan.state_key[:200]} is not the configured state; nothing was copied"
        )
    dated_prefix = backup_key(config, "")
    suffix = plan.dated_key[len(dated_prefix) :]
    if (
        plan.backup_bucket != tf.backup_bucket
        or plan.backup_key != backup_key(config, "backup")
        or not plan.dated_key.startswith(dated_prefix)
        or len(suffix) != 8
        or not suffix.isdigit()
    ):
        raise InvalidPlan(
            f"plan rejected: the backup keys are not s3://{tf.backup_bucket}/{dated_prefix}YYYYMMDD "
            f"and .backup; nothing was copied"
        )
    return plan


def apply_backup(plan: BackupPlan, *, s3: Any) -> BackupPlan:
    """Copy the checked version: the dated copy first, then .backup (what a restore reads) last."""
    done = plan.model_copy(deep=True)
    state = plan.state
    assert state is not None and state.etag  # check_plan
    source: dict[str, str] = {"Bucket": plan.state_bucket, "Key": plan.state_key}
    if state.version_id:
        source["VersionId"] = state.version_id
    for key in (plan.dated_key, plan.backup_key):
        try:
            # no ACL: the backup bucket may be another account's, with object ownership "bucket owner enforced"
            copied = s3.copy_object(
                Bucket=plan.backup_bucket, Key=key, CopySource=source, CopySourceIfMatch=state.etag, TaggingDirective="REPLACE"
            )
        except ClientError as exc:
            written = (
                f"already written: {', '.join(f's3://{plan.backup_bucket}/{k}' for k in done.written)}"
                if done.written
                else "nothing was written"
            )
            if aws.error_code(exc) in ("PreconditionFailed", "412"):
                done.verify, done.outcome = False, "state_changed"
                done.message = _with_warnings(
                    plan,
                    (
                        f"the state s3://{plan.state_bucket}/{plan.state_key} changed between the check (ETag "
                        f"{state.etag}, serial {state.serial}) and the copy to {key}; {written}. Run the backup again"
                    ),
                )
                return done
            raise
        done.written[key] = str(copied.get("CopyObjectResult", {}).get("ETag", ""))
    done.verify, done.wait_seconds = True, RUNBOOK.verify_interval_seconds
    return done


def check_backup(plan: BackupPlan, *, s3: Any) -> BackupPlan:
    checked = plan.model_copy(deep=True)
    checked.polls = polls = plan.polls + 1
    problems = []
    for key, etag in plan.written.items():
        try:
            head = s3.head_object(Bucket=plan.backup_bucket, Key=key)
        except ClientError as exc:
            if aws.error_code(exc) not in _MISSING:
                raise
            problems.append(f"s3://{plan.backup_bucket}/{key} is missing")
            continue
        if etag and head.get("ETag") != etag:
            problems.append(f"s3://{plan.backup_bucket}/{key} has ETag {head.get('ETag')}, not the copy's {etag}")
    state = plan.state
    assert state is not None
    if not problems:
        checked.settled, checked.outcome = True, "backed_up"
        checked.message = _with_warnings(
            plan,
            (
                f"backed up the state (serial {state.serial}, lineage {state.lineage}"
                f"{', version ' + state.version_id if state.version_id else ''}) to "
                f"{' and '.join(f's3://{plan.backup_bucket}/{k}' for k in plan.written)}"
            ),
        )
        return checked
    if polls >= plan.max_polls:
        checked.settled, checked.outcome = True, "copy_missing"
        checked.message = _with_warnings(plan, f"after {polls} checks: {'; '.join(problems)}")
        return checked
    checked.settled = False
    return checked


handler = kit.handler(
    RUNBOOK,
    BackupPlan,
    guard=kit.guard(plan_backup),
    act=kit.act(apply_backup, check=check_plan),
    verify=kit.verify(check_backup),
)
