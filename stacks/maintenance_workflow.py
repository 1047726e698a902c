"""The maintenance-window runbook's state machine (catalog: Runbook.workflow == "maintenance").

guard -> notify start -> backup-terraform-state, snapshot-rds-cluster (child workflows, sync:2; either not ok:
backup_failed, nothing scaled down) -> scale down (records counts, opens the windows) -> wait the window ->
restore -> verify (poll) -> notify end -> lift the windows -> report.
Every failure after guard goes through a lift step that first restores what was stopped, then the execution
fails with its cause. The function, its role and the audit steps are RunbookWorkflow's.
"""

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from catalog import CustomerConfig, Runbook, naming
from stacks.approvals import Approvals
from stacks.foundation import Foundation
from stacks.nag import acknowledge_wildcards, arn_of
from stacks.runbook_workflow import RunbookWorkflow
from stacks.workflow_parts import LAMBDA_TRANSIENT_ERRORS, lambda_step

S = sfn.JsonPath
# The backups it runs first, by the key of their result under $.backups. "unchanged" is accepted too: the
# last backup already equals the state.
CHILDREN = {"terraform_state": "backup-terraform-state", "rds_snapshot": "snapshot-rds-cluster"}
ALSO_OK = {"backup-terraform-state": ("unchanged",)}


class MaintenanceWorkflow(RunbookWorkflow):
    def __init__(self, scope: Construct, construct_id: str, *, runbook: Runbook, config: CustomerConfig,
                 foundation: Foundation, children: dict[str, RunbookWorkflow], approvals: Approvals | None = None) -> None:
        self.children = children  # read by _build_definition, which the base class calls
        super().__init__(scope, construct_id, runbook=runbook, config=config, foundation=foundation,
                         approvals=approvals)
        foundation.topic.grant_publish(self.function)  # the start and end status updates
        foundation.grant_routing_key_read(self.function)  # the change events
        if approvals is not None:
            acknowledge_wildcards(self.state_machine.role, [f"Resource::{arn_of(approvals.function)}:*"],
                                  "versions of the stack's approval function (an operator's done)")
        self._grant_child_starts(config)

    def _grant_child_starts(self, config: CustomerConfig) -> None:
        """What startExecution.sync:2 needs, executions scoped to each child's exact name followed by ':'."""
        machines = [self.children[name].state_machine for name in CHILDREN.values()]
        executions = [f"arn:aws:states:{config.region}:{config.account}:execution:"
                      f"{naming.state_machine_name(config.customer, name)}:*" for name in CHILDREN.values()]
        role = self.state_machine
        role.add_to_role_policy(iam.PolicyStatement(actions=["states:StartExecution"],
                                                    resources=[m.state_machine_arn for m in machines]))
        role.add_to_role_policy(iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"],
                                                    resources=executions))
        role.add_to_role_policy(iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[Stack.of(self).format_arn(service="events", resource="rule",
                                                 resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule")]))
        acknowledge_wildcards(self.state_machine.role, [f"Resource::{arn}" for arn in executions],
                              "executions of the backup runbooks' state machines (exact name, then ':', for sync:2 "
                              "polling)")

    def _child(self, key: str) -> sfn.CustomState:
        child = self.children[CHILDREN[key]]
        name = "backup_execution" if key == "terraform_state" else "snapshot_execution"
        source = "backup_input" if key == "terraform_state" else "snapshot_input"
        return sfn.CustomState(self, f"Run {child.runbook.name}", state_json={
            "Type": "Task", "Comment": f"{child.runbook.title}; waits for it (sync:2)",
            "Resource": f"arn:{Aws.PARTITION}:states:::states:startExecution.sync:2",
            "Parameters": {"Input.$": f"$.plan.{source}", "StateMachineArn": child.state_machine.state_machine_arn,
                           "Name.$": f"$.plan.{name}"},
            "ResultSelector": {"Output.$": "$.Output", "Status.$": "$.Status"},
            "ResultPath": f"$.backups.{key}"})

    def _ok(self, key: str) -> sfn.Condition:
        child = self.children[CHILDREN[key]].runbook
        ok = [o.name for o in child.outcomes if o.kind == "ok"] + list(ALSO_OK.get(child.name, ()))
        return sfn.Condition.or_(*[sfn.Condition.string_equals(f"$.backups.{key}.Output.outcome", name)
                                   for name in ok])

    def _build_definition(self, foundation: Foundation) -> sfn.IChainable:
        fn, plan = self.function, S.object_at("$.plan")

        def step(construct_id: str, payload: dict, result_path: str = "$.plan", comment: str | None = None):
            return lambda_step(self, construct_id, fn, payload, result_path=result_path, comment=comment)

        start = sfn.Pass(self, "Start", parameters={"input": S.entire_payload},
                         comment="keep the input, whatever its shape, under $.input")
        guard = step("Guard", {"step": "guard", "input": S.object_at("$.input"), "execution": S.execution_name,
                               "started": S.execution_start_time}, comment="validate input, mode, open windows")
        notify_start = step("NotifyStart", {"step": "notify", "phase": "start", "plan": plan}, "$.notified",
                            comment="status update + PagerDuty change event")
        state_backup, snapshot = self._child("terraform_state"), self._child("rds_snapshot")
        failed_backup = step("BackupFailed", {"step": "backup_failed", "plan": plan,
                                              "backups": S.object_at("$.backups")},
                             comment="nothing was scaled down")
        scale_down = step("ScaleDown", {"step": "scale_down", "plan": plan},
                          comment="record desired counts and floors, open the windows, scale to 0")
        window = sfn.Wait(self, "MaintenanceWindow", time=sfn.WaitTime.seconds_path("$.plan.wait_seconds"),
                          comment="the planned minutes")
        restore = step("Restore", {"step": "restore", "plan": plan}, comment="back to the recorded counts and floors")
        wait = sfn.Wait(self, "WaitBeforeVerify", time=sfn.WaitTime.seconds_path("$.plan.wait_seconds"))
        verify = step("Verify", {"step": "verify", "plan": plan})
        notify_end = step("NotifyEnd", {"step": "notify", "phase": "end", "plan": plan}, "$.notified")
        lift = step("Lift", {"step": "lift", "input": S.object_at("$.input"), "execution": S.execution_name},
                    "$.lifted", comment="the services' alarms page as usual again")
        lift_after_failure = step("LiftAfterFailure", {"step": "lift", "input": S.object_at("$.input"),
                                                       "execution": S.execution_name, "restore": True},
                                  "$.lifted", comment="restore what was stopped, then lift the windows")
        report = self._audit("Report", foundation, {
            "outcome": tasks.DynamoAttributeValue.from_string(S.string_at("$.plan.outcome")),
            "plan": tasks.DynamoAttributeValue.from_string(S.json_to_string(plan)),
        }, comment="audit row with the outcome")
        done = sfn.Succeed(self, "Done", output_path="$.plan")
        report_failure = self._audit("ReportFailure", foundation, {
            "outcome": tasks.DynamoAttributeValue.from_string("failed"),
            "error": tasks.DynamoAttributeValue.from_string(S.string_at("$.error.Error")),
            "cause": tasks.DynamoAttributeValue.from_string(S.string_at("$.error.Cause")),
        }, comment="audit row with the error")
        failed = sfn.Fail(self, "Failed", error="RunbookFailed",
                          cause_path=S.format("{}: {}", S.string_at("$.error.Error"), S.string_at("$.error.Cause")))

        report_failure.next(failed)
        lift_after_failure.next(report_failure)
        guard.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        for task in (notify_start, failed_backup, scale_down, restore, verify, notify_end):
            task.add_catch(lift_after_failure, errors=["States.ALL"], result_path="$.error")
        for task in (lift, lift_after_failure):
            task.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        for child in (state_backup, snapshot):
            child.add_catch(failed_backup, errors=["States.ALL"], result_path=f"$.backups.{_key(child)}")

        report.next(done)
        notify_end.next(lift).next(report)
        failed_backup.next(notify_end)
        settled = (sfn.Choice(self, "Settled?").when(sfn.Condition.boolean_equals("$.plan.settled", True), notify_end)
                   .otherwise(wait))
        restore.next(wait).next(verify).next(settled)
        wait_for_done, record_done = self._until_done(restore)
        for task in (wait_for_done, record_done):
            task.add_catch(lift_after_failure, errors=["States.ALL"], result_path="$.error")
        open_window = (sfn.Choice(self, "UntilDone?")
                       .when(sfn.Condition.boolean_equals("$.plan.until_done", True), wait_for_done)
                       .otherwise(window.next(restore)))
        after_snapshot = (sfn.Choice(self, "SnapshotTaken?").when(self._ok("rds_snapshot"),
                                                                   scale_down.next(open_window))
                          .otherwise(failed_backup))
        after_state = (sfn.Choice(self, "StateBackedUp?").when(self._ok("terraform_state"),
                                                                snapshot.next(after_snapshot))
                       .otherwise(failed_backup))
        return start.next(guard).next(
            sfn.Choice(self, "Proceed?")
            .when(sfn.Condition.boolean_equals("$.plan.proceed", True),
                  notify_start.next(state_backup).next(after_state))
            .otherwise(report))


    def _until_done(self, restore: sfn.IChainable) -> tuple[tasks.LambdaInvoke, tasks.LambdaInvoke]:
        """An operator's "done" ends the window: a task token answered like an approval (operators/approvals.py,
        `cli.py approve`); its time-out is the window's maximum, which is not a failure: it goes on to restore."""
        if self.approvals is None:
            raise ValueError(f"runbook {self.runbook.name} waits for an operator's done: give it the Approvals")
        fn = self.approvals.function
        request = tasks.LambdaInvoke(
            self, "WaitForDone", lambda_function=fn, integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            retry_on_service_exceptions=False, result_path="$.answer",
            payload=sfn.TaskInput.from_object({
                "step": "request", "runbook": self.runbook.name, "execution": S.execution_name,
                "execution_arn": S.string_at("$$.Execution.Id"), "token": S.task_token,
                "summary": S.string_at("$.plan.done_summary"), "timeout_seconds": S.number_at("$.plan.wait_seconds")}),
            task_timeout=sfn.Timeout.at("$.plan.wait_seconds"),
            comment="until an operator answers (approve: done) or the window's maximum has passed")
        request.add_retry(errors=LAMBDA_TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
        answered = lambda_step(self, "RecordDone", fn, {
            "step": "answered", "runbook": self.runbook.name, "execution": S.execution_name,
            "answer": S.object_at("$.answer")}, result_path="$.done",
            comment="who said done and when (or the maximum passed): audit row, the pending item removed")
        request.add_catch(answered, errors=["Rejected", "States.Timeout"], result_path="$.answer")
        request.next(answered).next(restore)
        return request, answered


def _key(child: sfn.CustomState) -> str:
    return "terraform_state" if "backup-terraform-state" in child.node.id else "rds_snapshot"
