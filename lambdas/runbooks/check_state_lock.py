"""Runbook check-state-lock (read-only): "stale Terraform locks block every deploy until someone notices".

guard   find the DynamoDB lock item and the S3 <key>.tflock of the customer's state; a lock older than
        terraform.stale_lock_minutes is stale. One page per lock ID (alerts: trigger when it becomes stale,
        resolve when it is gone); which IDs were paged is kept in the automation table. Everything is done here:
        the plan never proceeds, so a check costs a few transitions. It never removes a lock.
"""

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from catalog import naming, runbook
from catalog.runbooks.check_state_lock import CheckStateLockInput
from lambdas.errors import InvalidInput
from lambdas.logic.state_locks import find_locks
from lambdas.logic.store import Store
from lambdas.models.steps import Alert, PlanBase, StateLock
from lambdas.runbooks import kit
from lambdas.settings import Settings

RUNBOOK = runbook("check-state-lock")


class LockCheck(PlanBase):
    """check-state-lock's answer; everything happens in guard (proceed is always false)."""

    lock_path: str
    stale_after_minutes: int
    locks: list[StateLock] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)


FORCE_UNLOCK = "force-unlock-state"  # the runbook a person starts for a stale lock (after approval)


def alert_key(lock_id: str) -> str:
    return f"state-lock/{lock_id}"


UNLOCK_REASON = "stale lock, no Terraform run is going on"


def unlock_input(lock_id: str) -> dict[str, str]:
    """The console input of force-unlock-state for this lock (the person may reword the reason)."""
    return {"lock_id": lock_id, "reason": UNLOCK_REASON}


def unlock_start_command(customer: str, lock_id: str) -> str:
    """The operators' CLI command that starts force-unlock-state for this lock (it asks for approval)."""
    return f'python cli.py start force-unlock-state -c {customer} lock_id={lock_id} reason="{UNLOCK_REASON}"'


def _trigger(customer: str, lock_path: str, lock: StateLock, kinds: list[str], stale_after: int) -> Alert:
    where = " and ".join(kinds)
    start = unlock_start_command(customer, lock.id)
    console_input = json.dumps(unlock_input(lock.id))
    return Alert(
        key=alert_key(lock.id),
        action="trigger",
        severity="P2",
        summary=(
            f"stale Terraform lock {lock.id} on {lock_path} ({where}), held by "
            f"{lock.who or 'unknown'} for {lock.operation or 'an unknown operation'} since {lock.created} "
            f"({lock.age_minutes} min, stale after {stale_after}); deploys are blocked. If no run is going on: "
            f"{start} (or console: {naming.state_machine_name(customer, FORCE_UNLOCK)} with {console_input}; "
            f"approval needed) or {lock.unlock_command}"
        )[:1024],
        details={
            "ID": lock.id,
            "Who": lock.who,
            "Operation": lock.operation,
            "Created": lock.created,
            "kind": kinds[0] if len(kinds) == 1 else kinds,
            "lock_path": lock_path,
            "age_minutes": lock.age_minutes,
            "stale_after_minutes": stale_after,
            "force_unlock": lock.unlock_command,
            "start_force_unlock": start,
            "console": {"state_machine": naming.state_machine_name(customer, FORCE_UNLOCK), "input": console_input},
            "caution": "only when no Terraform run is going on (the runbook: 'with extreme caution'); "
            "this automation never removes a lock",
        },
    )


def check_locks(
    inp: CheckStateLockInput, *, settings: Settings, dynamodb: Any, s3: Any, store: Store, now: datetime
) -> LockCheck:
    config = settings.customer
    tf = config.terraform
    expected = config.terraform.lock_path
    if inp.lock_path != expected:
        raise InvalidInput(
            f"lock_path {inp.lock_path[:300]!r} is not the configured state of customer {config.customer} ({expected!r})"
        )
    check = LockCheck(
        runbook=RUNBOOK.name,
        customer=config.customer,
        lock_path=expected,
        stale_after_minutes=tf.stale_lock_minutes,
        incident_id=inp.incident_id,
        reason=inp.reason,
        locks=[],
        notes=[],
        alerts=[],
        proceed=False,
    )
    check.locks = find_locks(
        dynamodb,
        s3,
        table=tf.lock_table,
        bucket=tf.state_bucket,
        key=tf.state_key,
        now=now,
        stale_after_minutes=tf.stale_lock_minutes,
        notes=check.notes,
    )
    stale: dict[str, list[StateLock]] = {}
    for lock in check.locks:
        if lock.stale and lock.id:
            stale.setdefault(lock.id, []).append(lock)
    scope = f"{RUNBOOK.name}#{expected}"
    paged = store.paged_alerts(scope)
    for lock_id, locks in stale.items():
        if alert_key(lock_id) not in paged:
            check.alerts.append(_trigger(config.customer, expected, locks[0], [lk.kind for lk in locks], tf.stale_lock_minutes))
    for key, sent in paged.items():
        if key.removeprefix("state-lock/") not in stale:
            check.alerts.append(
                Alert(
                    key=key,
                    action="resolve",
                    severity="P2",
                    summary=f"Terraform lock {key.removeprefix('state-lock/')} on {expected} is gone",
                    details={"ID": key.removeprefix("state-lock/"), "paged_at": sent},
                )
            )
    now_paged = {alert_key(i): paged.get(alert_key(i), now.isoformat()) for i in stale}
    if now_paged != paged:
        store.set_paged_alerts(scope, now_paged)

    if not check.locks:
        check.outcome, check.message = "no_lock", f"no lock is held on {expected}"
    elif stale:
        new = [a.key for a in check.alerts if a.action == "trigger"]
        check.outcome = "stale_lock"
        check.message = "; ".join(
            f"stale {lk.kind} lock {lk.id} held by {lk.who or 'unknown'} ({lk.operation or 'unknown operation'}) "
            f"since {lk.created}, {lk.age_minutes} min (stale after {tf.stale_lock_minutes}); if no run is going on: "
            f"{lk.unlock_command}"
            for locks in stale.values()
            for lk in locks
        )
        check.message += "; paged now" if new else "; already paged"
    else:
        check.outcome = "lock_held"
        check.message = (
            "; ".join(
                f"{lk.kind} lock {lk.id or '(unreadable)'} held by {lk.who or 'unknown'} "
                f"({lk.operation or 'unknown operation'}) since {lk.created or 'an unknown time'}"
                + (f", {lk.age_minutes} min (stale after {tf.stale_lock_minutes})" if lk.age_minutes is not None else "")
                for lk in check.locks
            )
            + ": a run is going on, not paged"
        )
    if check.notes:
        check.message += "; " + "; ".join(check.notes)
    return check


handler = kit.handler(RUNBOOK, LockCheck, guard=kit.guard(check_locks))
