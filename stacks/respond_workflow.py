"""The respond workflow: alarm event -> admit -> page -> remediate (child runbook) -> record.

A runbook that runs before the page (a safety net, e.g. a snapshot) runs first, and the page carries its
outcome. A scheduled run (admit's decision "run") starts its runbook without a page; record pages what needs a
person. A duplicate delivery stops at admit. The alarm returning to OK resolves the page. Every failure
is caught and pages "automation failed" before the execution ends as FAILED: never silent. A page
that cannot be sent does not hold back the runbook; record then fails the execution loudly.
"""

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from catalog import KINDS, CustomerConfig, naming, watched_alarms
from catalog.service_events import SERVICE_EVENT_CONFIRMS
from stacks.foundation import Foundation
from stacks.nag import acknowledge_key_grants, acknowledge_wildcards, arn_of
from stacks.permissions import resource_arns, statements
from stacks.runbook_workflow import RunbookWorkflow
from stacks.workflow_parts import grant_child_starts, lambda_step, start_child, state_machine

S = sfn.JsonPath


class RespondWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CustomerConfig,
        foundation: Foundation,
        runbooks: list[RunbookWorkflow],
    ) -> None:
        super().__init__(scope, construct_id)
        self.config, self.foundation, self.runbooks = config, foundation, runbooks
        self._build_functions()
        name = naming.state_machine_name(config.customer, "respond")
        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=name,
            definition=self._build_definition(),
            log_group=foundation.log_group(self, "StateMachineLogs", naming.state_machine_log_group(name), retain=True),
            # the longest runbook it waits for, with room for the page and the record; a resolve may also wait
            # for a runbook's cooldown before its on-resolve step (e.g. the floor restore)
            timeout=Duration.seconds(
                max(3600, 60 * max(rb.runbook.timeout_minutes for rb in runbooks) + 900)
                + 60 * (config.paging.recheck_minutes or 0)
                + max((k.cooldown_seconds(config, i) for k in KINDS.values() for i in k.instances(config)), default=0)
            ),
            comment="CloudWatch alarm state change -> admit -> page -> remediate -> record",
        )
        children = self._grant_runbook_starts()
        versions = [f"Resource::{arn_of(fn)}:*" for fn in (self.admit_fn, self.page_fn, self.record_fn)] + [
            f"Resource::{arn_of(rb.function)}:*" for rb in runbooks if rb.runbook.on_resolve
        ]
        acknowledge_wildcards(
            self.state_machine.role,
            [f"Resource::{arn}" for arn in children] + versions,
            "executions of this stack's runbook state machines (exact name, then ':', for "
            "sync:2 polling) and versions of this stack's own functions (a runbook's "
            "on-resolve step included)",
        )
        # the last resort publishes to the encrypted status topic without a Lambda
        foundation.topic.grant_publish(self.state_machine)
        acknowledge_key_grants(self.state_machine.role)

    def _grant_runbook_starts(self) -> list[str]:
        return grant_child_starts(self.state_machine, self.config, {rb.runbook.name: rb.state_machine for rb in self.runbooks})

    def _build_functions(self) -> None:
        f, config = self.foundation, self.config
        # an alarm event is confirmed against the alarm's own state: this customer's alarms only
        alarms = [f"arn:aws:cloudwatch:{config.region}:{config.account}:alarm:{name}" for name in sorted(watched_alarms(config))]
        self.admit_fn = f.function(
            self,
            "AdmitFunction",
            component="admit",
            handler="lambdas.handlers.admit.handler",
            statements=[
                iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=alarms),
                # a service event is confirmed against its resource's state (catalog/service_events.py)
                *statements(tuple(SERVICE_EVENT_CONFIRMS), config),
            ],
        )
        # the claim and the open/close of an incident are one transaction (put, update, delete, condition check)
        f.grant_table(
            self.admit_fn,
            ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"),
            naming.FUNCTION_KEY_PREFIXES["admit"],
        )
        f.grant_mode_read(self.admit_fn)

        # page diagnoses the alarm's resource: each kind with alarms declares what its diagnosis reads
        alarmed = [k for k in KINDS.values() if k.alarm_kinds and k.instances(config)]
        diagnosis = statements(tuple(p for k in alarmed for p in k.diagnosis_permissions), config)
        self.page_fn = f.function(
            self,
            "PageFunction",
            component="page",
            handler="lambdas.handlers.page.handler",
            statements=diagnosis,
            timeout_seconds=60,
        )
        self.record_fn = f.function(
            self,
            "RecordFunction",
            component="record",
            handler="lambdas.handlers.record.handler",
            statements=[],
            timeout_seconds=60,
        )
        task_ids = [
            f"Resource::{a}"
            for k in alarmed
            for p in k.diagnosis_permissions
            if p.resource != "*"
            for a in resource_arns(p.resource, config)
            if a.endswith("*")
        ]
        acknowledge_wildcards(
            self.page_fn.role,
            task_ids,
            "diagnosis reads resources whose ids AWS assigns (e.g. stopped tasks of the customer's cluster)",
        )
        unscoped = sorted({a for k in alarmed for p in k.diagnosis_permissions if p.resource == "*" for a in p.actions})
        if unscoped:
            acknowledge_wildcards(
                self.page_fn.role,
                ["Resource::*"],
                f"diagnosis reads that have no resource-level permissions ({', '.join(unscoped)}); "
                "read-only, and limited by a condition where IAM has one (ecs:cluster)",
            )
        # is the incident still open? then the audit row
        f.grant_table(self.record_fn, ("GetItem",), naming.FUNCTION_KEY_PREFIXES["record"])
        f.grant_window_read(self.page_fn)  # a re-check during an open maintenance window does not escalate
        for fn in (self.page_fn, self.record_fn):
            f.topic.grant_publish(fn)
            f.grant_routing_key_read(fn)

    def _build_definition(self) -> sfn.IChainable:
        state = S.entire_payload
        execution = S.execution_name
        admit = lambda_step(
            self,
            "Admit",
            self.admit_fn,
            {"event": state},
            result_path="$.admit",
            comment="validate + classify the event, claim the incident, read the mode switch",
        )
        # admit receives {"event": ...}; the handler unwraps it (keeps the raw event intact for the record).
        page = lambda_step(
            self,
            "Page",
            self.page_fn,
            {"action": "trigger", "state": state, "execution": execution},
            result_path="$.page",
            comment="PagerDuty trigger (diagnosis attached) + status update",
        )
        resolve = lambda_step(
            self,
            "Resolve",
            self.page_fn,
            {"action": "resolve", "state": state, "execution": execution},
            result_path="$.page",
            comment="PagerDuty resolve, same dedup_key",
        )
        record = lambda_step(
            self,
            "Record",
            self.record_fn,
            {"state": state, "execution": execution},
            result_path="$.record",
            comment="audit row; page again if a person must act",
        )
        done = sfn.Succeed(self, "Done", output_path="$.record")
        duplicate = sfn.Succeed(
            self, "Duplicate", output_path="$.admit", comment="another execution already handles this state change"
        )

        page_failure = lambda_step(
            self,
            "PageAutomationFailed",
            self.page_fn,
            {"action": "automation_failed", "state": state, "execution": execution},
            result_path="$.page",
            comment="never silent",
        )
        record_failure = lambda_step(
            self,
            "RecordFailure",
            self.record_fn,
            {"state": state, "execution": execution, "failed": True},
            result_path="$.record",
        )
        failed = sfn.Fail(
            self,
            "Failed",
            error="AutomationFailed",
            cause_path=S.format("{}: {}", S.string_at("$.error.Error"), S.string_at("$.error.Cause")),
        )
        # Last resort when the page itself fails (Lambda throttled or down, PagerDuty unreachable): a
        # status update straight from Step Functions to the topic, no Lambda involved.
        last_resort = tasks.SnsPublish(
            self,
            "NotifyAutomationFailed",
            topic=self.foundation.topic,
            result_path=S.DISCARD,
            subject=naming.status_update_subject(naming.group(self.config.customer)),
            message=sfn.TaskInput.from_text(
                S.format(
                    "Current Status: Investigating. Impact: unknown: the automation failed and its page could not be "
                    "sent. Affected customers: {}. Execution: {}. Error: {}: {}. Page error: {}. Contact: {}",
                    self.config.customer,
                    S.execution_name,
                    S.string_at("$.error.Error"),
                    S.string_at("$.error.Cause"),
                    S.string_at("$.page_error.Error"),
                    self.config.paging.on_call_contact,
                )
            ),
            comment="last resort: needs no Lambda",
        )
        page_failure.add_catch(last_resort, errors=["States.ALL"], result_path="$.page_error")
        last_resort.add_catch(record_failure, errors=["States.ALL"], result_path="$.notify_error")
        record_failure.add_catch(failed, errors=["States.ALL"], result_path="$.record_error")
        last_resort.next(record_failure)
        page_failure.next(record_failure).next(failed)

        remediate = sfn.Choice(self, "Remediate?", comment="one branch per runbook in the catalog")
        runs = sfn.Condition.or_(
            sfn.Condition.string_equals("$.admit.decision", "remediate"), sfn.Condition.string_equals("$.admit.decision", "run")
        )
        for rb in self.runbooks:
            run = self._run(rb, f"Run {rb.runbook.name}", page_failure)
            remediate.when(sfn.Condition.and_(runs, _is(rb)), run.next(record))
        remediate.otherwise(record)

        route = sfn.Choice(self, "Route")
        first = [rb for rb in self.runbooks if rb.runbook.runs_before_page]
        if first:
            page_after = lambda_step(
                self,
                "PageWithOutcome",
                self.page_fn,
                {"action": "trigger", "state": state, "execution": execution},
                result_path="$.page",
                comment="PagerDuty trigger with the diagnosis and the safety net's outcome + status update",
            )
            # a page that cannot be sent: record fails the execution loudly afterwards
            page_after.add_catch(record, errors=["States.ALL"], result_path="$.page_error")
            page_after.next(record)
            for rb in first:
                run_first = self._run(rb, f"Run {rb.runbook.name} before page", page_failure)
                route.when(
                    sfn.Condition.and_(sfn.Condition.string_equals("$.admit.decision", "remediate"), _is(rb)),
                    run_first.next(page_after),
                )

        # A page that cannot be sent must not hold back the remediation: carry on, and let record fail
        # the execution loudly (status update, "automation failed", failed-execution alarm) afterwards.
        page.add_catch(remediate, errors=["States.ALL"], result_path="$.page_error")
        for step in (admit, resolve, record):
            step.add_catch(page_failure, errors=["States.ALL"], result_path="$.error")
        record.next(self._recheck(done, page_failure))
        return admit.next(
            route.when(sfn.Condition.string_equals("$.admit.decision", "duplicate"), duplicate)
            .when(sfn.Condition.string_equals("$.admit.decision", "resolve"), self._on_resolve(resolve, record, page_failure))
            .when(sfn.Condition.string_equals("$.admit.decision", "ignore"), record)
            .when(sfn.Condition.string_equals("$.admit.decision", "join"), record)
            .when(sfn.Condition.string_equals("$.admit.decision", "run"), remediate)
            .otherwise(page.next(remediate))
        )

    def _recheck(self, done: sfn.IChainable, page_failure: sfn.IChainable) -> sfn.IChainable:
        """After a runbook that succeeded: wait paging.recheck_minutes, read the alarm (no Lambda), and escalate the
        page one step when it is still in ALARM. Record says when ($.record.recheck)."""
        minutes = self.config.paging.recheck_minutes
        if not minutes:
            return done
        alarms = [
            f"arn:aws:cloudwatch:{self.config.region}:{self.config.account}:alarm:{name}"
            for name in sorted(watched_alarms(self.config))
        ]
        wait = sfn.Wait(
            self,
            "WaitBeforeRecheck",
            time=sfn.WaitTime.duration(Duration.minutes(minutes)),
            comment="give the remediation time to work",
        )
        read = tasks.CallAwsService(
            self,
            "ReadAlarm",
            service="cloudwatch",
            action="describeAlarms",
            parameters={"AlarmNames": S.array(S.string_at("$.admit.alarm"))},
            iam_resources=alarms,
            iam_action="cloudwatch:DescribeAlarms",
            result_selector={"alarm.$": "$.MetricAlarms[0]"},
            result_path="$.recheck",
            comment="the alarm's state now",
        )
        escalate = lambda_step(
            self,
            "Escalate",
            self.page_fn,
            {"action": "escalate", "state": S.entire_payload, "execution": S.execution_name},
            result_path="$.record.escalation",
            comment="same alert, one step up (P2 -> P1)",
        )
        for step in (read, escalate):
            step.add_catch(page_failure, errors=["States.ALL"], result_path="$.error")
        return (
            sfn.Choice(self, "Recheck?")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.record.recheck"), sfn.Condition.boolean_equals("$.record.recheck", True)
                ),
                wait.next(read).next(
                    sfn.Choice(self, "StillInAlarm?")
                    .when(sfn.Condition.string_equals("$.recheck.alarm.StateValue", "ALARM"), escalate.next(done))
                    .otherwise(done)
                ),
            )
            .otherwise(done)
        )

    def _run(self, rb: RunbookWorkflow, name: str, page_failure: sfn.IChainable) -> sfn.CustomState:
        """Start the runbook's state machine and wait for it (sync:2). A custom state, not
        tasks.StepFunctionsStartExecution: its IAM is granted in _grant_runbook_starts (workflow_parts)."""
        run = start_child(
            self,
            name,
            machine=rb.state_machine,
            title=rb.runbook.title,
            input_path="$.admit.runbook_input",
            name_path="$.admit.child_execution_name",
            result_path="$.remediation",
            with_arn=True,
        )
        run.add_catch(page_failure, errors=["States.ALL"], result_path="$.error")
        return run

    def _on_resolve(self, resolve: sfn.TaskStateBase, record: sfn.IChainable, page_failure: sfn.IChainable) -> sfn.IChainable:
        """alarm OK: each runbook that declares an on-resolve step says what it will undo and when (plan), the
        resolve page and status update tell the on-call, the workflow waits until then (the runbook's
        cooldown has passed), and the step runs. Runbooks without one: resolve, then record."""
        hooked = [rb for rb in self.runbooks if rb.runbook.on_resolve]
        before = sfn.Choice(
            self,
            "UndoOnResolve?",
            comment="a runbook step that undoes what must not outlast the incident (e.g. the raised autoscaling floor)",
        )
        after = sfn.Choice(self, "UndoDue?")
        for rb in hooked:
            step = rb.runbook.on_resolve
            is_rb = sfn.Condition.string_equals("$.admit.runbook", rb.runbook.name)
            plan = lambda_step(
                self,
                f"Plan {rb.runbook.name} {step}",
                rb.function,
                {"step": step, "phase": "plan", "input": S.object_at("$.admit.restore_input")},
                result_path="$.restore",
                comment="what will be undone, and when",
            )
            wait = sfn.Wait(self, f"Wait for {rb.runbook.name} cooldown", time=sfn.WaitTime.timestamp_path("$.restore.at"))
            apply = lambda_step(
                self,
                f"{rb.runbook.name} {step}",
                rb.function,
                {"step": step, "phase": "apply", "input": S.object_at("$.admit.restore_input")},
                result_path="$.restore",
                comment="re-checks bounds and the alarm, then undoes",
            )
            for task in (plan, apply):
                task.add_catch(page_failure, errors=["States.ALL"], result_path="$.error")
            before.when(sfn.Condition.and_(is_rb, sfn.Condition.is_present("$.admit.restore_input")), plan.next(resolve))
            after.when(
                sfn.Condition.and_(
                    is_rb, sfn.Condition.is_present("$.restore.due"), sfn.Condition.boolean_equals("$.restore.due", True)
                ),
                wait.next(apply).next(record),
            )
        resolve.next(after.otherwise(record))
        return before.otherwise(resolve) if hooked else resolve


def _is(rb: RunbookWorkflow) -> sfn.Condition:
    return sfn.Condition.string_equals("$.admit.runbook", rb.runbook.name)
