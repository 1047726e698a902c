"""Runbook tune-lambda: the runbook's "Managing Lambda functions" (update-function-configuration), with approval.

guard   read the function's configuration; check the new memory and timeout against the customer's
        lambda_tuning bounds (or, with restore, read the values kept from before the last change); the plan
        carries the revision shown, and ``approval_summary`` says what will change.
(a person approves the exact change; a rejection or no answer ends the run as ``rejected``)
act     re-read the configuration: a different RevisionId or different values than shown -> target_changed,
        nothing done. Else keep the current values in the table, then UpdateFunctionConfiguration with the
        shown RevisionId (Lambda refuses it if the function changed in between).


verify  the update is applied (LastUpdateStatus Successful) and the values are the new ones.
"""

from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from catalog import CustomerConfig, runbook
from catalog.runbooks.tune_lambda import TuneLambdaInput
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.mode import strictest
from lambdas.logic.store import Store
from lambdas.models.steps import PlanBase, parse_step
from lambdas.runbooks import kit
from lambdas.runbooks.kit import run_mode
from lambdas.settings import Settings

RUNBOOK = runbook("tune-lambda")


class TunePlan(PlanBase):
    function: str
    restore: bool = False
    revision: str = ""  # the configuration revision shown to the approver
    memory_from: int
    timeout_from: int
    memory_to: int
    timeout_to: int
    approval_summary: str | None = None
    kept: dict[str, Any] | None = Field(default=None, description="the values kept for restore")


def kept_values(store: Store, function: str) -> dict[str, Any] | None:
    item = store.remembered(RUNBOOK.name, function, "previous")
    return (
        {
            "memory_mb": int(item["memory_mb"]),
            "timeout_seconds": int(item["timeout_seconds"]),
            "at": str(item["at"]),
            "approved_by": str(item.get("approved_by", "")),
        }
        if item
        else None
    )


def plan_tune(inp: TuneLambdaInput, *, settings: Settings, lambda_: Any, ssm: Any, store: Store) -> TunePlan:
    config = settings.customer
    if inp.function != config.function:
        raise InvalidInput(
            f"function {inp.function[:140]!r} is not the configured function of customer {config.customer} ({config.function!r})"
        )
    run = run_mode(ssm, settings.mode_parameter, inp.mode, dry_run=inp.dry_run)
    # its plan's mode says dry-run for a dry-run too (off stays off): the mode approvers and the audit see
    mode, note = strictest(run.mode, "dry-run" if run.dry_run else None), run.note
    current = lambda_.get_function_configuration(FunctionName=inp.function)
    memory, timeout = int(current["MemorySize"]), int(current["Timeout"])
    memory_to, timeout_to = inp.memory_mb or memory, inp.timeout_seconds or timeout
    plan = TunePlan(
        runbook=RUNBOOK.name,
        customer=config.customer,
        function=inp.function,
        mode=mode,
        dry_run=mode == "dry-run",
        restore=inp.restore,
        incident_id=inp.incident_id,
        reason=inp.reason,
        revision=str(current.get("RevisionId", "")),
        memory_from=memory,
        timeout_from=timeout,
        memory_to=memory_to,
        timeout_to=timeout_to,
        max_polls=RUNBOOK.verify_max_polls,
        wait_seconds=RUNBOOK.verify_interval_seconds,
        proceed=False,
    )
    if inp.restore:
        kept = kept_values(store, inp.function)
        if not kept:
            plan.outcome, plan.message = "refused", (f"nothing to restore: no tune-lambda change of {inp.function} is on record")
            return plan
        plan.kept, plan.memory_to, plan.timeout_to = kept, kept["memory_mb"], kept["timeout_seconds"]
    bounds = config.lambda_tuning
    problems = []
    if not bounds.min_memory_mb <= plan.memory_to <= bounds.max_memory_mb:
        problems.append(f"memory {plan.memory_to} MB is outside {bounds.min_memory_mb}..{bounds.max_memory_mb} MB")
    if not bounds.min_timeout_seconds <= plan.timeout_to <= bounds.max_timeout_seconds:
        problems.append(f"timeout {plan.timeout_to} s is outside {bounds.min_timeout_seconds}..{bounds.max_timeout_seconds} s")
    change = f"{inp.function}: memory {memory} -> {plan.memory_to} MB, timeout {timeout} -> {plan.timeout_to} s" + (
        " (restoring the values from before the change of " + str(plan.kept["at"]) + ")" if plan.kept else ""
    )
    if problems:
        plan.outcome, plan.message = (
            "refused",
            f"{change} refused: " + "; ".join(problems) + " (customers/<c>.yaml lambda_tuning)",
        )
    elif (plan.memory_to, plan.timeout_to) == (memory, timeout):
        plan.outcome, plan.message = "unchanged", f"{inp.function} already has memory {memory} MB and timeout {timeout} s"
    elif mode == "off":
        plan.outcome, plan.message = "refused", f"{change} refused: automation is off ({note})"
    elif mode == "dry-run":
        plan.outcome, plan.message = "would_tune", f"dry-run: would set {change}"
    else:
        plan.proceed = True
        plan.approval_summary = (
            f"set {change}"
            + (f" (revision {plan.revision[:12]})" if plan.revision else "")
            + (f"; reason: {inp.reason}" if inp.reason else "")
        )
    return plan


def check_plan(raw: object, config: CustomerConfig) -> TunePlan:
    """act trusts nothing it is given: the plan must be one guard let proceed, for the configured function, with
    values within the customer's lambda_tuning bounds."""
    plan = parse_step(TunePlan, raw, "tune-lambda act: plan")
    if plan.runbook != RUNBOOK.name or plan.proceed is not True:
        raise InvalidInput("tune-lambda: act was given a plan guard did not approve; nothing was changed")
    bounds = config.lambda_tuning
    if plan.function != config.function or not (
        bounds.min_memory_mb <= plan.memory_to <= bounds.max_memory_mb
        and bounds.min_timeout_seconds <= plan.timeout_to <= bounds.max_timeout_seconds
    ):
        raise InvalidPlan(
            f"plan rejected: {plan.function[:140]!r} memory {plan.memory_to} MB, timeout "
            f"{plan.timeout_to} s is not the configured function within its lambda_tuning bounds; "
            f"nothing was changed"
        )
    return plan


def apply_tune(plan: TunePlan, *, lambda_: Any, store: Store, approved_by: str = "") -> TunePlan:
    if plan.runbook != RUNBOOK.name or plan.proceed is not True:
        raise InvalidInput("tune-lambda: act was given a plan guard did not approve; nothing was changed")
    current = lambda_.get_function_configuration(FunctionName=plan.function)
    shown = (plan.revision, plan.memory_from, plan.timeout_from)
    now = (str(current.get("RevisionId", "")), int(current["MemorySize"]), int(current["Timeout"]))
    if now != shown:
        plan.outcome, plan.message = (
            "target_changed",
            (
                f"{plan.function} changed after it was approved (memory {plan.memory_from} -> {now[1]} MB, timeout "
                f"{plan.timeout_from} -> {now[2]} s, revision {plan.revision[:12]} -> {now[0][:12]}): nothing was changed"
            ),
        )
        return plan
    if not plan.restore:  # keep what to put back; a restore leaves the record of the original values
        store.remember(
            RUNBOOK.name,
            plan.function,
            "previous",
            {
                "memory_mb": plan.memory_from,
                "timeout_seconds": plan.timeout_from,
                "at": store.now.isoformat(),
                "approved_by": approved_by,
            },
        )
    try:
        lambda_.update_function_configuration(
            FunctionName=plan.function, MemorySize=plan.memory_to, Timeout=plan.timeout_to, RevisionId=plan.revision
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "PreconditionFailedException":
            raise
        plan.outcome, plan.message = (
            "target_changed",
            (
                f"{plan.function} changed after it was approved (revision "
                f"{plan.revision[:12]} is no longer current): nothing changed"
            ),
        )
        return plan
    plan.verify = True
    return plan


def check_tune(plan: TunePlan, *, lambda_: Any) -> TunePlan:
    current = lambda_.get_function_configuration(FunctionName=plan.function)
    plan.polls += 1
    status = str(current.get("LastUpdateStatus", "Successful"))
    applied = (int(current["MemorySize"]), int(current["Timeout"])) == (plan.memory_to, plan.timeout_to)
    if status == "Successful" and applied:
        plan.settled, plan.outcome = True, "tuned"
        plan.message = (
            f"{plan.function}: memory {plan.memory_from} -> {plan.memory_to} MB, timeout "
            f"{plan.timeout_from} -> {plan.timeout_to} s"
            + (
                "; the previous values are back"
                if plan.restore
                else "; the previous values are kept: start tune-lambda with 'restore': true to put them back"
            )
        )
    elif status == "Failed" or plan.polls >= plan.max_polls:
        plan.settled, plan.outcome = True, "update_failed"
        plan.message = (
            f"{plan.function}: the update is {status} ({current.get('LastUpdateStatusReason') or 'no reason'})"
            f" after {plan.polls} checks"
        )
    else:
        plan.settled = False
    return plan


handler = kit.handler(
    RUNBOOK,
    TunePlan,
    guard=kit.guard(plan_tune),
    act=kit.act(apply_tune, check=check_plan),
    verify=kit.verify(check_tune, what="tune-lambda verify: plan"),
)
