"""Runbook check-state-lock: its input model and its declaration."""

from pydantic import Field

from catalog.declaration import Outcome, Runbook, RunbookInput, every, register
from catalog.runbooks._permissions import STATE_LOCK_READS


class CheckStateLockInput(RunbookInput):
    lock_path: str = Field(min_length=1, max_length=1100, description="the LockID Terraform uses: <state bucket>/<key>")


CHECK_STATE_LOCK = register(
    Runbook(
        name="check-state-lock",
        title="Find stale Terraform state locks and page them (read-only)",
        target_kind="state_lock",
        input_model=CheckStateLockInput,
        permissions=(*STATE_LOCK_READS,),
        outcomes=(
            Outcome("no_lock", "ok", "no lock is held on the state"),
            Outcome("lock_held", "ok", "a lock younger than stale_lock_minutes is held: a run is going on, not paged"),
            Outcome(
                "stale_lock",
                "ok",
                "a lock older than stale_lock_minutes: paged through its alerts, one per lock ID, resolved when it is gone",
            ),
        ),
        guard_rails=(
            "read-only: it never removes a lock (terraform force-unlock is a person's decision)",
            "the -md5 digest item is never a lock",
            "one page per lock ID, triggered once when it becomes stale and resolved when it is gone",
            "the lock table is shared: it reads only this state's LockID (dynamodb:LeadingKeys)",
        ),
        schedule=lambda c: every(c.schedules.lock_check_minutes),
        table_actions=("GetItem", "PutItem", "DeleteItem"),  # the lock IDs it paged
        table_prefixes=("alerts#",),  # alerts#<scope>: the lock IDs it paged
        reads_mode=False,  # read-only: it changes nothing that a mode could hold back
        example_input={
            "lock_path": "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate",
            "reason": "a deploy is blocked",
        },
    )
)
