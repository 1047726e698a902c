"""One runbook as a state machine, derived from its catalog declaration.

guard -> (refused? report) -> [approval] -> act -> (dry-run? report) -> wait -> verify -> (settled? report : wait)
-> report -> [notify the declared teams]
A runbook that asks for approval waits for a task token when guard's plan carries ``approval_summary``; a
rejection or a time-out (approvals.timeout_minutes) ends it with outcome ``rejected``, act never runs.
The wait lasts the plan's ``wait_seconds``: a runbook sets it in act and verify (a fixed poll, or a backoff).
Every failure is caught, written to the audit trail and ends the execution as FAILED with its cause.
"""

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import CustomerConfig, Runbook, naming
from stacks.approvals import Approvals
from stacks.foundation import Foundation
from stacks.nag import acknowledge_wildcards, arn_of
from stacks.permissions import resource_arns, statements
from stacks.workflow_parts import audit_tail, lambda_step, state_machine, wait_for_answer

S = sfn.JsonPath


class RunbookWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runbook: Runbook,
        config: CustomerConfig,
        foundation: Foundation,
        approvals: Approvals | None = None,
        children: dict[str, "RunbookWorkflow"] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.runbook, self.config, self.approvals = runbook, config, approvals
        self.children = children or {}  # the workflows its definition starts (Runbook.children)
        if (runbook.approval or runbook.notify_teams) and approvals is None:
            raise ValueError(f"runbook {runbook.name} asks for approval or notifies teams: give it the Approvals")
        self.function = foundation.function(
            self,
            "Function",
            component=runbook.name,
            handler=f"lambdas.runbooks.{naming.module_name(runbook.name)}.handler",
            statements=statements(runbook.permissions, config),
        )
        scoped = [
            f"Resource::{arn}"
            for p in runbook.permissions
            if p.resource != "*"
            for arn in resource_arns(p.resource, config)
            if arn.endswith("*")
        ]
        acknowledge_wildcards(
            self.function.role,
            scoped,
            "resource ids that AWS assigns (e.g. scalable-target ids) inside the customer's account and region",
        )
        acknowledge_wildcards(
            self.function.role,
            ["Resource::*"],
            "application-autoscaling:DescribeScalableTargets (read) has no resource-level permission",
        )
        # cooldowns and remembered state (e.g. the autoscaling floor), as the runbook declares
        if runbook.table_actions:
            foundation.grant_table(self.function, runbook.table_actions, runbook.table_prefixes)
        if runbook.reads_mode:
            foundation.grant_mode_read(self.function)
        if runbook.approval:  # act proves the approval (its execution, the verified answer) or pages security
            if not runbook.table_actions:  # (grant_table includes it) a refusal's audit row
                foundation.grant_audit(self.function)
            foundation.grant_executions_read(self.function)
            foundation.grant_answers(self.function, ("GetItem",))
            foundation.grant_routing_key_read(self.function, ("security",))
            if not runbook.publishes_status:
                foundation.topic.grant_publish(self.function)
                foundation.key.grant_encrypt_decrypt(self.function)
        if runbook.publishes_status:  # e.g. health-check's summary; the topic is encrypted with the stack's key
            foundation.topic.grant_publish(self.function)
            foundation.key.grant_encrypt_decrypt(self.function)
        name = naming.state_machine_name(config.customer, runbook.name)
        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=name,
            definition=self._build_definition(foundation),
            log_group=foundation.log_group(self, "StateMachineLogs", naming.state_machine_log_group(name), retain=True),
            timeout=Duration.minutes(runbook.timeout_minutes_for(config)),
            comment=f"{runbook.title}. Start by hand with input like {runbook.example_input}",
        )
        acknowledge_wildcards(
            self.state_machine.role,
            [f"Resource::{arn_of(self.function)}:*", f"Resource::{arn_of(foundation.audit_function)}:*"]
            + (
                [f"Resource::{arn_of(approvals.function)}:*"]
                if approvals is not None and (runbook.approval or runbook.notify_teams)
                else []
            ),
            "versions of this runbook's own function (and of the stack's approval and audit functions)",
        )

    def _build_definition(self, foundation: Foundation) -> sfn.IChainable:
        fn = self.function
        start = sfn.Pass(
            self, "Start", parameters={"input": S.entire_payload}, comment="keep the input, whatever its shape, under $.input"
        )
        # the execution's name and start time: what a re-run of the same execution keeps (e.g. a snapshot's name)
        guard = lambda_step(
            self,
            "Guard",
            fn,
            {"step": "guard", "input": S.object_at("$.input"), "execution": S.execution_name, "started": S.execution_start_time},
            result_path="$.plan",
            comment="validate input; bounds, mode, cooldown -> plan",
        )
        # its execution's ARN: act of a runbook that asks for approval confirms with Step Functions that it is called
        # by this running execution, whose approval the answer function verified
        act_payload = {"step": "act", "plan": S.object_at("$.plan"), "execution_arn": S.string_at("$$.Execution.Id")}
        if self.runbook.approval:  # act is told who approved (the output and the audit row keep it)
            act_payload["approval"] = S.object_at("$.approval")
        act = lambda_step(self, "Act", fn, act_payload, result_path="$.plan")
        verify = lambda_step(self, "Verify", fn, {"step": "verify", "plan": S.object_at("$.plan")}, result_path="$.plan")
        wait = sfn.Wait(self, "WaitBeforeVerify", time=sfn.WaitTime.seconds_path("$.plan.wait_seconds"))
        tail = audit_tail(self, audit=foundation.audit_function, runbook=self.runbook.name)
        report, done, report_failure = tail.report, tail.done, tail.report_failure
        for step in (guard, act, verify):
            step.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")

        if self.runbook.notify_teams and self.approvals is not None:
            notify = lambda_step(
                self,
                "NotifyTeams",
                self.approvals.function,
                {"step": "notify", "runbook": self.runbook.name, "execution": S.execution_name, "plan": S.object_at("$.plan")},
                result_path=S.DISCARD,
                comment=f"tell {', '.join(self.runbook.notify_teams)} of the outcome and who approved it",
            )
            notify.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
            report.next(notify).next(done)
        else:
            report.next(done)
        act.next(
            sfn.Choice(self, "ChangeMade?")
            .when(
                sfn.Condition.boolean_equals("$.plan.verify", True),
                wait.next(verify).next(
                    sfn.Choice(self, "Settled?")
                    .when(sfn.Condition.boolean_equals("$.plan.settled", True), report)
                    .otherwise(wait)
                ),
            )
            .otherwise(report)
        )
        return start.next(guard).next(
            sfn.Choice(self, "Proceed?")
            .when(sfn.Condition.boolean_equals("$.plan.proceed", True), self._approval(act, report, report_failure))
            .otherwise(report)
        )

    def _approval(self, act: sfn.IChainable, report: sfn.IChainable, report_failure: sfn.IChainable) -> sfn.IChainable:
        """Ask before act when the plan says what is to be approved; a rejection or no answer in time ends the
        run with outcome ``rejected`` (not a failure), and act never runs."""
        if not self.runbook.approval or self.approvals is None:
            return act
        minutes = self.config.approvals.timeout_minutes
        request, answered = wait_for_answer(
            self,
            fn=self.approvals.function,
            runbook=self.runbook.name,
            request_id="WaitForApproval",
            answered_id="RecordAnswer",
            summary_path="$.plan.approval_summary",
            task_timeout=sfn.Timeout.duration(Duration.minutes(minutes)),
            answered_path="$.approval",
            comment=f"store the token as the pending approval, tell the approvers; no answer in {minutes} min is a rejection",
            answered_comment="who answered, when, their comment: audit row, the note resolved, the pending item removed",
        )
        request.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        answered.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        rejected = sfn.Pass(
            self,
            "Rejected",
            result_path="$.plan",
            parameters={
                "runbook": self.runbook.name,
                "outcome": "rejected",
                "proceed": False,
                "message": S.string_at("$.approval.message"),
                "approval": S.object_at("$.approval"),
                "approval_summary": S.string_at("$.plan.approval_summary"),
            },
            comment="nothing was changed",
        )
        answered.next(
            sfn.Choice(self, "Approved?")
            .when(sfn.Condition.string_equals("$.approval.answer", "approved"), act)
            .otherwise(rejected.next(report))
        )
        return (
            sfn.Choice(self, "NeedsApproval?").when(sfn.Condition.is_present("$.plan.approval_summary"), request).otherwise(act)
        )
