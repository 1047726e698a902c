"""Runbook force-unlock-state: its input model and its declaration."""

from pydantic import Field

from catalog.declaration import Outcome, Runbook, RunbookInput, register
from catalog.permissions import Condition, Permission


class ForceUnlockStateInput(RunbookInput):
    lock_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="the ID of the lock to remove, as the stale-lock page shows it",
    )
    # a person removes a lock on purpose: why is part of the record (and of the approval request)
    reason: str = Field(min_length=3, max_length=500, description="why the lock may go (no run is going on)")
    lock_path: str | None = Field(
        default=None, min_length=1, max_length=1100, description="<state bucket>/<key>; default: the configured state's"
    )


FORCE_UNLOCK_STATE = register(
    Runbook(
        name="force-unlock-state",
        title="Remove a stale Terraform state lock, after approval, only if it is still the same lock",
        target_kind="state_lock",
        input_model=ForceUnlockStateInput,
        permissions=(
            # the lock table is shared: only this state's LockID, never its "<path>-md5" digest item (LeadingKeys)
            Permission(
                ("dynamodb:GetItem",),
                resource="state_lock",
                conditions=(Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),),
            ),
            Permission(
                ("dynamodb:DeleteItem",),
                resource="state_lock",
                write=True,
                conditions=(Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),),
            ),
            Permission(("s3:GetObject",), resource="state_lock.tflock"),
            Permission(("s3:DeleteObject",), resource="state_lock.tflock", write=True),
            Permission(
                ("s3:ListBucket",),
                resource="state_lock.state_bucket",
                conditions=(Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),),
            ),
        ),
        outcomes=(
            Outcome(
                "unlocked", "ok", "the lock shown for approval was removed (the DynamoDB item and/or the .tflock)", change=True
            ),
            Outcome("no_lock", "skipped", "no lock is held on the state (any more): nothing to remove"),
            Outcome("would_unlock", "skipped", "dry-run: the lock it would remove is in the message; no approval asked"),
            Outcome("refused", "refused", "automation is off for the customer"),
            Outcome(
                "lock_changed",
                "refused",
                "the lock held now has another ID than the input's: nothing asked, "
                "nothing removed; the message names the lock that is held",
            ),
        ),
        guard_rails=(
            "approval first: the request shows the lock (ID, Who, Operation, Created) and where it is",
            "removes a lock only if it is still the same lock: act re-reads it, then deletes conditionally (DynamoDB "
            "ConditionExpression on the exact Info shown; S3 DeleteObject If-Match on the .tflock's ETag)",
            "never touches the -md5 digest item: IAM allows DeleteItem only on the state's own LockID",
            "the lock_path is the configured state's; the lock table is shared by other states",
            "dry-run and off modes remove nothing and ask no approval",
        ),
        example_input={
            "lock_id": "9e2b4c1d-6f3a-4b8e-a2d7-5c0f1e3b9a64",
            "reason": "stale lock, no run is going on",
            "lock_path": "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate",
        },
        table_actions=(),
        approval=True,
        notify_teams=("infrastructure", "security"),
    )
)
