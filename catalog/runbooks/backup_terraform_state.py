"""Runbook backup-terraform-state: its input model and its declaration."""

from pydantic import Field

from catalog.declaration import Outcome, Runbook, RunbookInput, daily, register
from catalog.permissions import Condition, Permission


class BackupTerraformStateInput(RunbookInput):
    state_key: str = Field(min_length=1, max_length=1024, description="the S3 backend's key, e.g. lecture-dhbw/terraform.tfstate")


BACKUP_TERRAFORM_STATE = register(
    Runbook(
        name="backup-terraform-state",
        title="Back up the Terraform state, refusing a rollback or a replacement",
        target_kind="terraform_state",
        input_model=BackupTerraformStateInput,
        permissions=(
            # GetObjectVersion: the copy names the checked version when the bucket is versioned
            Permission(("s3:GetObject", "s3:GetObjectVersion"), resource="terraform_state"),
            Permission(("s3:GetBucketVersioning",), resource="terraform_state.bucket"),
            Permission(("s3:GetObject",), resource="terraform_state.backup"),
            # only to tell a missing .backup (404) from a refused read (403)
            Permission(
                ("s3:ListBucket",),
                resource="terraform_state.backup_bucket",
                conditions=(Condition("StringEquals", "s3:prefix", resource="terraform_state.backup_listing_value"),),
            ),
            Permission(("s3:PutObject",), resource="terraform_state.backup", write=True),
        ),
        outcomes=(
            Outcome(
                "backed_up", "ok", "the checked state was copied to <prefix>terraform.tfstate.YYYYMMDD and .backup", change=True
            ),
            Outcome("unchanged", "skipped", "same serial and same digest as the last backup: no new copy"),
            Outcome("would_back_up", "skipped", "dry-run: the copies it would make are in the message"),
            Outcome("refused", "refused", "automation is off for the customer"),
            Outcome(
                "serial_regressed",
                "refused",
                "the state's serial is lower than the last backup's: a possible rollback; .backup left untouched",
            ),
            Outcome(
                "lineage_changed",
                "refused",
                "the state's lineage differs from the last backup's: a possible replacement; .backup left untouched",
            ),
            Outcome("state_missing", "failed", "the state object does not exist or cannot be read"),
            Outcome("state_invalid", "failed", "the state object is not JSON with version 4"),
            Outcome("state_changed", "failed", "the state changed between the check and the copy"),
            Outcome("copy_missing", "failed", "a copy is not there (or not the expected one) after the copy"),
        ),
        guard_rails=(
            "copies only a state that is JSON with version 4, of the same lineage as the last backup and a serial "
            "not lower than its serial",
            "a rollback or a replacement is refused and paged; .backup is never overwritten with it",
            "copies exactly the checked version (CopySourceIfMatch on its ETag, and its VersionId when versioned)",
            "no ACLs: the backup bucket may be another account's (bucket owner enforced)",
            "a state bucket without versioning is reported as a warning and a P3 status update",
            "dry-run and off modes make no copy",
        ),
        schedule=lambda c: daily(c.schedules.state_backup),
        table_actions=(),  # it remembers nothing: the last backup is its own record
        verify_interval_seconds=5,
        verify_max_polls=3,
        example_input={"state_key": "lecture-dhbw/terraform.tfstate", "reason": "before a risky apply"},
    )
)
