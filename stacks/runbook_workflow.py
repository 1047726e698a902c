"""One runbook as a state machine, derived from its catalog declaration.

guard -> (refused? report) -> act -> (dry-run? report) -> wait -> verify -> (settled? report : wait)
The wait lasts the plan's ``wait_seconds``: a runbook sets it in act and verify (a fixed poll, or a backoff).
Every failure is caught, written to the audit trail and ends the execution as FAILED with its cause.
"""

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from catalog import CustomerConfig, Runbook, naming
from stacks.foundation import Foundation
from stacks.nag import acknowledge_key_grants, acknowledge_wildcards, arn_of
from stacks.permissions import resource_arns, statements
from stacks.workflow_parts import lambda_step, state_machine

S = sfn.JsonPath


class RunbookWorkflow(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, runbook: Runbook, config: CustomerConfig,
                 foundation: Foundation) -> None:
        super().__init__(scope, construct_id)
        self.runbook = runbook
        self.function = foundation.function(
            self, "Function", component=runbook.name,
            handler=f"lambdas.runbooks.{naming.module_name(runbook.name)}.handler",
            statements=statements(runbook.permissions, config))
        scoped = [f"Resource::{arn}" for p in runbook.permissions if p.resource != "*"
                  for arn in resource_arns(p.resource, config) if arn.endswith("*")]
        acknowledge_wildcards(self.function.role, scoped, "resource ids that AWS assigns (e.g. scalable-target ids) "
                                                          "inside the customer's account and region")
        acknowledge_wildcards(self.function.role, ["Resource::*"],
                              "application-autoscaling:DescribeScalableTargets (read) has no resource-level permission")
        # cooldowns and remembered state (e.g. the autoscaling floor), as the runbook declares
        if runbook.table_actions:
            foundation.grant_table(self.function, runbook.table_actions)
        if runbook.reads_mode:
            foundation.grant_mode_read(self.function)
        if runbook.publishes_status:  # e.g. health-check's summary; the topic is encrypted with the stack's key
            foundation.topic.grant_publish(self.function)
            foundation.key.grant_encrypt_decrypt(self.function)
        name = naming.state_machine_name(config.customer, runbook.name)
        self.state_machine = state_machine(
            self, "StateMachine", name=name, definition=self._build_definition(foundation),
            log_group=foundation.log_group(self, "StateMachineLogs", naming.state_machine_log_group(name), retain=True),
            timeout=Duration.minutes(runbook.timeout_minutes),
            comment=f"{runbook.title}. Start by hand with input like {runbook.example_input}")
        # Report/ReportFailure write to the table, which is encrypted with the stack's key
        foundation.key.grant_encrypt_decrypt(self.state_machine)
        acknowledge_wildcards(self.state_machine.role, [f"Resource::{arn_of(self.function)}:*"],
                              "versions of this runbook's own function")
        acknowledge_key_grants(self.state_machine.role)
        foundation.audit_puts_only(self.state_machine)

    def _audit(self, construct_id: str, foundation: Foundation, item: dict, comment: str) -> tasks.DynamoPutItem:
        return tasks.DynamoPutItem(
            self, construct_id, table=foundation.table, comment=comment, result_path=S.DISCARD,
            condition_expression="attribute_not_exists(pk)",  # an audit row is never overwritten
            item={
                "pk": tasks.DynamoAttributeValue.from_string(S.format("audit#{}", S.execution_name)),
                "sk": tasks.DynamoAttributeValue.from_string(S.format("{}#report", S.string_at("$$.State.EnteredTime"))),
                "runbook": tasks.DynamoAttributeValue.from_string(self.runbook.name),
                **item,
            },
        )

    def _build_definition(self, foundation: Foundation) -> sfn.IChainable:
        fn = self.function
        start = sfn.Pass(self, "Start", parameters={"input": S.entire_payload},
                         comment="keep the input, whatever its shape, under $.input")
        # the execution's name and start time: what a re-run of the same execution keeps (e.g. a snapshot's name)
        guard = lambda_step(self, "Guard", fn, {"step": "guard", "input": S.object_at("$.input"),
                                                "execution": S.execution_name, "started": S.execution_start_time},
                            result_path="$.plan", comment="validate input; bounds, mode, cooldown -> plan")
        act = lambda_step(self, "Act", fn, {"step": "act", "plan": S.object_at("$.plan")}, result_path="$.plan")
        verify = lambda_step(self, "Verify", fn, {"step": "verify", "plan": S.object_at("$.plan")},
                             result_path="$.plan")
        wait = sfn.Wait(self, "WaitBeforeVerify", time=sfn.WaitTime.seconds_path("$.plan.wait_seconds"))
        report = self._audit("Report", foundation, {
            "outcome": tasks.DynamoAttributeValue.from_string(S.string_at("$.plan.outcome")),
            "plan": tasks.DynamoAttributeValue.from_string(S.json_to_string(S.object_at("$.plan"))),
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
        for step in (guard, act, verify):
            step.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")

        report.next(done)
        return start.next(guard).next(
            sfn.Choice(self, "Proceed?")
            .when(sfn.Condition.boolean_equals("$.plan.proceed", True),
                  act.next(sfn.Choice(self, "ChangeMade?")
                           .when(sfn.Condition.boolean_equals("$.plan.verify", True),
                                 wait.next(verify).next(
                                     sfn.Choice(self, "Settled?")
                                     .when(sfn.Condition.boolean_equals("$.plan.settled", True), report)
                                     .otherwise(wait)))
                           .otherwise(report)))
            .otherwise(report))
