"""The maintenance-window runbook's state machine (catalog: Runbook.workflow == "maintenance").

guard -> the approval (a named approver; rejected or no answer: nothing happens)
-> [booked ahead (``at``): the customers' notice -> wait until the reminder -> the reminder -> wait until ``at``]
-> notify start -> its children, the backups (catalog: Runbook.children; child workflows, sync:2; any not ok:
backup_failed, nothing scaled down) -> scale down (proves the approval, records counts, opens the windows)
-> wait the window -> restore -> verify (poll) -> notify end -> lift the windows -> report.
Every failure after guard goes through a lift step that first restores what was stopped, then the execution
fails with its cause. The function, its role and the audit steps are RunbookWorkflow's.
"""

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from catalog import CustomerConfig, Runbook
from catalog.declaration import ChildRun
from stacks.approvals import Approvals
from stacks.foundation import Foundation
from stacks.nag import acknowledge_wildcards, arn_of
from stacks.runbook_workflow import RunbookWorkflow
from stacks.workflow_parts import audit_tail, grant_child_starts, lambda_step, start_child, wait_for_answer

S = sfn.JsonPath


class MaintenanceWorkflow(RunbookWorkflow):
    """Its children (catalog: Runbook.children) run first, in their declared order."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runbook: Runbook,
        config: CustomerConfig,
        foundation: Foundation,
        children: dict[str, RunbookWorkflow],
        approvals: Approvals | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            runbook=runbook,
            config=config,
            foundation=foundation,
            approvals=approvals,
            children={c.runbook: children[c.runbook] for c in runbook.children},
        )
        foundation.topic.grant_publish(self.function)  # the start and end status updates
        foundation.grant_routing_key_read(self.function)  # the change events
        if approvals is not None:
            acknowledge_wildcards(
                self.state_machine.role,
                [f"Resource::{arn_of(approvals.function)}:*"],
                "versions of the stack's approval function (an operator's done)",
            )
        executions = grant_child_starts(
            self.state_machine, config, {name: child.state_machine for name, child in self.children.items()}
        )
        acknowledge_wildcards(
            self.state_machine.role,
            [f"Resource::{arn}" for arn in executions],
            "executions of the backup runbooks' state machines (exact name, then ':', for sync:2 polling)",
        )

    def _child(self, run: ChildRun) -> sfn.CustomState:
        child = self.children[run.runbook]
        return start_child(
            self,
            f"Run {child.runbook.name}",
            machine=child.state_machine,
            title=child.runbook.title,
            input_path=f"$.plan.{run.input_field}",
            name_path=f"$.plan.{run.execution_field}",
            result_path=f"$.backups.{run.key}",
        )

    def _ok(self, run: ChildRun) -> sfn.Condition:
        child = self.children[run.runbook].runbook
        ok = [o.name for o in child.outcomes if o.kind == "ok"] + list(run.also_ok)
        return sfn.Condition.or_(*[sfn.Condition.string_equals(f"$.backups.{run.key}.Output.outcome", name) for name in ok])

    def _build_definition(self, foundation: Foundation) -> sfn.IChainable:
        fn, plan = self.function, S.object_at("$.plan")

        def step(construct_id: str, payload: dict, result_path: str = "$.plan", comment: str | None = None):
            return lambda_step(self, construct_id, fn, payload, result_path=result_path, comment=comment)

        start = sfn.Pass(
            self, "Start", parameters={"input": S.entire_payload}, comment="keep the input, whatever its shape, under $.input"
        )
        guard = step(
            "Guard",
            {"step": "guard", "input": S.object_at("$.input"), "execution": S.execution_name, "started": S.execution_start_time},
            comment="validate input, mode, open windows",
        )
        notify_start = step(
            "NotifyStart",
            {"step": "notify", "phase": "start", "plan": plan},
            "$.notified",
            comment="status update + PagerDuty change event",
        )
        runs = [(run, self._child(run)) for run in self.runbook.children]
        failed_backup = step(
            "BackupFailed",
            {"step": "backup_failed", "plan": plan, "backups": S.object_at("$.backups")},
            comment="nothing was scaled down",
        )
        # its execution and who approved: scale_down proves the approval with Step Functions and the verified answer
        scale_down = step(
            "ScaleDown",
            {
                "step": "scale_down",
                "plan": plan,
                "execution_arn": S.string_at("$$.Execution.Id"),
                "approval": S.object_at("$.approval"),
            },
            comment="record desired counts and floors, open the windows, scale to 0",
        )
        window = sfn.Wait(
            self, "MaintenanceWindow", time=sfn.WaitTime.seconds_path("$.plan.wait_seconds"), comment="the planned minutes"
        )
        restore = step("Restore", {"step": "restore", "plan": plan}, comment="back to the recorded counts and floors")
        wait = sfn.Wait(self, "WaitBeforeVerify", time=sfn.WaitTime.seconds_path("$.plan.wait_seconds"))
        verify = step("Verify", {"step": "verify", "plan": plan})
        notify_end = step("NotifyEnd", {"step": "notify", "phase": "end", "plan": plan}, "$.notified")
        lift = step(
            "Lift",
            {"step": "lift", "input": S.object_at("$.input"), "execution": S.execution_name},
            "$.lifted",
            comment="the services' alarms page as usual again",
        )
        lift_after_failure = step(
            "LiftAfterFailure",
            {"step": "lift", "input": S.object_at("$.input"), "execution": S.execution_name, "restore": True},
            "$.lifted",
            comment="restore what was stopped, then lift the windows",
        )
        tail = audit_tail(self, audit=foundation.audit_function, runbook=self.runbook.name)
        report, done, report_failure = tail.report, tail.done, tail.report_failure
        lift_after_failure.next(report_failure)
        guard.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        for task in (notify_start, failed_backup, scale_down, restore, verify, notify_end):
            task.add_catch(lift_after_failure, errors=["States.ALL"], result_path="$.error")
        for task in (lift, lift_after_failure):
            task.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        for run, child in runs:
            child.add_catch(failed_backup, errors=["States.ALL"], result_path=f"$.backups.{run.key}")

        report.next(done)
        notify_end.next(lift).next(report)
        failed_backup.next(notify_end)
        settled = (
            sfn.Choice(self, "Settled?").when(sfn.Condition.boolean_equals("$.plan.settled", True), notify_end).otherwise(wait)
        )
        restore.next(wait).next(verify).next(settled)
        wait_for_done, record_done = self._until_done(restore)
        for task in (wait_for_done, record_done):
            task.add_catch(lift_after_failure, errors=["States.ALL"], result_path="$.error")
        open_window = (
            sfn.Choice(self, "UntilDone?")
            .when(sfn.Condition.boolean_equals("$.plan.until_done", True), wait_for_done)
            .otherwise(window.next(restore))
        )
        # each child in turn; the last one's ok goes on to the scale down, any other end to backup_failed
        # the mode switch, read again by scale_down, may hold it back: then nothing is stopped, the window ends
        after: sfn.IChainable = scale_down.next(
            sfn.Choice(self, "ScaledDown?")
            .when(sfn.Condition.boolean_equals("$.plan.proceed", False), notify_end)
            .otherwise(open_window)
        )
        for run, child in reversed(runs):
            after = child.next(sfn.Choice(self, run.question).when(self._ok(run), after).otherwise(failed_backup))
        notify_start.next(after)
        booked = self._booked(step, notify_start, report_failure)
        return start.next(guard).next(
            sfn.Choice(self, "Proceed?")
            .when(sfn.Condition.boolean_equals("$.plan.proceed", True), self._approval(booked, report, report_failure))
            .otherwise(report)
        )

    def _booked(self, step: Any, notify_start: sfn.IChainable, report_failure: sfn.IChainable) -> sfn.IChainable:
        """Booked ahead (the plan's ``starts_at``): once approved, the customers' notice goes out; the execution waits
        until the reminder (``remind_at``) and then until the start, on Step Functions' clock (TimestampPath)."""
        plan = S.object_at("$.plan")
        notify_booked = step(
            "NotifyBooked",
            {"step": "notify", "phase": "booked", "plan": plan},
            "$.notified",
            comment="the customers' notice: a status update when it opens, and a PagerDuty change event",
        )
        wait_reminder = sfn.Wait(
            self, "WaitForReminder", time=sfn.WaitTime.timestamp_path("$.plan.remind_at"), comment="until the reminder"
        )
        remind = step("Remind", {"step": "notify", "phase": "reminder", "plan": plan}, "$.notified", comment="it opens soon")
        wait_start = sfn.Wait(
            self, "WaitForStart", time=sfn.WaitTime.timestamp_path("$.plan.starts_at"), comment="until the booked time"
        )
        for task in (notify_booked, remind):
            task.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        notify_booked.next(wait_reminder).next(remind).next(wait_start).next(notify_start)
        return (
            sfn.Choice(self, "Booked?").when(sfn.Condition.is_present("$.plan.starts_at"), notify_booked).otherwise(notify_start)
        )

    def _until_done(self, restore: sfn.IChainable) -> tuple[tasks.LambdaInvoke, tasks.LambdaInvoke]:
        """An operator's "done" ends the window: a task token answered like an approval (operators/approvals.py,
        `cli.py approve`); its time-out is the window's maximum, which is not a failure: it goes on to restore."""
        if self.approvals is None:
            raise ValueError(f"runbook {self.runbook.name} waits for an operator's done: give it the Approvals")
        request, answered = wait_for_answer(
            self,
            fn=self.approvals.function,
            runbook=self.runbook.name,
            request_id="WaitForDone",
            answered_id="RecordDone",
            summary_path="$.plan.done_summary",
            task_timeout=sfn.Timeout.at("$.plan.wait_seconds"),
            answered_path="$.done",
            extra={"timeout_seconds": S.number_at("$.plan.wait_seconds")},
            comment="until an operator answers (approve: done) or the window's maximum has passed",
            answered_comment="who said done and when (or the maximum passed): audit row, the pending item removed",
        )
        answered.next(restore)
        return request, answered
