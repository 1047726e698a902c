"""Runbook restore-terraform-state: its input model and its declaration."""

from pydantic import Field, model_validator

from catalog.declaration import Outcome, Runbook, RunbookInput, register
from catalog.permissions import Condition, Permission
from catalog.runbooks._permissions import STATE_LOCK_READS


class RestoreTerraformStateInput(RunbookInput):
    backup: str = Field(
        default=".backup",
        pattern=r"^(\.backup|[0-9]{8})$",
        description='which backup: ".backup" (the last one) or a dated one, "YYYYMMDD"',
    )
    reason: str = Field(min_length=3, max_length=500, description="why the state is restored")
    allow_lineage_change: bool = Field(
        default=False, description="restore a backup of another lineage (a replaced state): never by default"
    )
    state_key: str | None = Field(
        default=None, min_length=1, max_length=1024, description="the S3 backend's key; default: the configured state's"
    )

    @model_validator(mode="after")
    def _a_real_date(self) -> "RestoreTerraformStateInput":
        if self.backup != ".backup":
            from datetime import datetime

            try:
                datetime.strptime(self.backup, "%Y%m%d")
            except ValueError:
                raise ValueError(f"'backup' {self.backup!r} is not a date YYYYMMDD") from None
        return self


RESTORE_TERRAFORM_STATE = register(
    Runbook(
        name="restore-terraform-state",
        title="Restore the Terraform state from a backup, after approval, keeping the corrupted state",
        target_kind="terraform_state",
        input_model=RestoreTerraformStateInput,
        permissions=(
            Permission(("s3:GetObject",), resource="terraform_state"),
            Permission(("s3:GetObject",), resource="terraform_state.backup"),
            # the corrupted state's copy (<prefix>terraform.tfstate.corrupted-<time>) and nothing else but the state
            Permission(("s3:PutObject",), resource="terraform_state.backup", write=True),
            Permission(("s3:PutObject",), resource="terraform_state", write=True),
            # a run that holds the lock would overwrite the restore: refused while a lock is held
            *STATE_LOCK_READS,
            # Terraform checks the state against this digest: it is set to the restored state's (only if it exists)
            Permission(
                ("dynamodb:UpdateItem",),
                resource="state_lock",
                write=True,
                conditions=(
                    Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.digest_id_value"),
                ),
            ),
        ),
        outcomes=(
            Outcome(
                "restored",
                "ok",
                "the corrupted state was copied to <prefix>terraform.tfstate.corrupted-<time>, "
                "then the backup was written over the state",
                change=True,
            ),
            Outcome("noop", "skipped", "the state already is the backup (same content): nothing to restore"),
            Outcome("would_restore", "skipped", "dry-run: what it would restore is in the message; no approval asked"),
            Outcome("refused", "refused", "automation is off for the customer"),
            Outcome(
                "backup_invalid",
                "refused",
                "the backup does not exist, cannot be read, or is not JSON of version 4 with a serial and a lineage",
            ),
            Outcome(
                "lineage_changed",
                "refused",
                "the backup's lineage differs from the state's and the input does not say allow_lineage_change: true",
            ),
            Outcome(
                "state_locked",
                "refused",
                "a Terraform lock is held on the state: a run could overwrite the "
                "restore (remove a stale lock with force-unlock-state first)",
            ),
        ),
        guard_rails=(
            "approval first: the request shows the backup, the state, and the difference in serial and resources",
            "the backup must be JSON of version 4; its lineage must equal the state's unless allow_lineage_change",
            "the corrupted state is copied to its own dated key before anything is written",
            "the backup is written only if the state has not changed since guard read it (If-Match on its ETag), and "
            "only the backup guard read (its ETag is checked again)",
            "refused while a Terraform lock is held on the state",
            "dry-run and off modes write nothing and ask no approval",
        ),
        example_input={
            "backup": ".backup",
            "reason": "state corrupted by an interrupted apply",
            "state_key": "lecture-dhbw/terraform.tfstate",
        },
        table_actions=(),
        approval=True,
    )
)
