"""Every change of the mode switch goes to the status topic and the audit trail, saying who made it.

Who made it is only in CloudTrail's "AWS API Call via CloudTrail" event, which EventBridge receives
when the account has a trail with management events. The audit function appends the row (the hash chain);
Step Functions publishes.
"""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from catalog import CustomerConfig, naming
from catalog.security import MODE_SWITCH_CHANGES_MANY, MODE_SWITCH_CHANGES_ONE
from stacks.foundation import Foundation
from stacks.nag import acknowledge_key_grants, acknowledge_wildcards, arn_of
from stacks.workflow_parts import audit_row, state_machine

S = sfn.JsonPath
# API calls that change a parameter's value (or remove it), declared with the security events (which page
# the security team about the same changes); requestParameters.name / .names name it.
CHANGING_ONE = list(MODE_SWITCH_CHANGES_ONE)


class ModeChangeWatch(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: CustomerConfig, foundation: Foundation) -> None:
        super().__init__(scope, construct_id)
        self.config, self.foundation = config, foundation
        parameter = naming.mode_parameter_name(config.customer)
        parameter_arn = f"arn:aws:ssm:{config.region}:{config.account}:parameter{parameter}"
        name = naming.state_machine_name(config.customer, naming.MODE_CHANGE_WORKFLOW)
        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=name,
            definition=self._build_definition(parameter, parameter_arn),
            log_group=foundation.log_group(self, "StateMachineLogs", naming.state_machine_log_group(name), retain=True),
            timeout=Duration.minutes(5),
            comment="mode switch changed (CloudTrail) -> audit row + status update",
        )
        foundation.key.grant_encrypt_decrypt(self.state_machine)
        foundation.topic.grant_publish(self.state_machine)
        acknowledge_key_grants(self.state_machine.role)
        acknowledge_wildcards(
            self.state_machine.role,
            [f"Resource::{arn_of(foundation.audit_function)}:*"],
            "versions of the stack's audit function",
        )
        names = [parameter, parameter_arn]  # a caller may name the parameter by its ARN
        self.rule = events.Rule(
            self,
            "ModeChanges",
            rule_name=naming.rule_name(config.customer, "mode-changes"),
            description=f"changes of {parameter} (CloudTrail) -> {name}",
            event_pattern=events.EventPattern(
                source=["aws.ssm"],
                detail_type=["AWS API Call via CloudTrail"],
                account=[config.account],
                region=[config.region],
                detail={
                    "eventSource": ["ssm.amazonaws.com"],
                    "$or": [
                        {"eventName": CHANGING_ONE, "requestParameters": {"name": names}},
                        {"eventName": list(MODE_SWITCH_CHANGES_MANY), "requestParameters": {"names": names}},
                    ],
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine, retry_attempts=8, max_event_age=Duration.hours(2), dead_letter_queue=None
                )
            ],
        )

    def _build_definition(self, parameter: str, parameter_arn: str) -> sfn.IChainable:
        c, f = self.config, self.foundation
        failed = sfn.Fail(
            self,
            "Failed",
            error="ModeChangeNotRecorded",
            cause_path=S.format("{}: {}", S.string_at("$.error.Error"), S.string_at("$.error.Cause")),
        )
        caller = sfn.Pass(self, "Caller", parameters={"value": S.string_at("$.detail.userIdentity.arn")}, result_path="$.who")
        other_caller = sfn.Pass(
            self,
            "OtherCaller",
            result_path="$.who",  # e.g. an AWS service: no ARN
            parameters={"value": S.json_to_string(S.object_at("$.detail.userIdentity"))},
        )
        read = tasks.CallAwsService(
            self,
            "ReadMode",
            service="ssm",
            action="getParameter",
            parameters={"Name": parameter},
            iam_resources=[parameter_arn],
            result_selector={"value": S.string_at("$.Parameter.Value")},
            result_path="$.mode",
            comment="the value now in force",
        )
        unreadable = sfn.Pass(self, "ModeUnreadable", parameters={"value": "unreadable (deleted?)"}, result_path="$.mode")
        read.add_catch(unreadable, errors=["States.ALL"], result_path="$.read_error")
        audit = audit_row(
            self,
            "Audit",
            audit=f.audit_function,
            workflow=naming.MODE_CHANGE_WORKFLOW,
            step="mode-change",
            subject="mode-switch",
            sk=S.format("{}#mode-change#{}", S.string_at("$.time"), S.string_at("$.id")),
            record={
                "parameter": parameter,
                "event_name": S.string_at("$.detail.eventName"),
                "who": S.string_at("$.who.value"),
                "mode": S.string_at("$.mode.value"),
                "event_id": S.string_at("$.id"),
                "execution": S.execution_name,
            },
            comment="audit row (the hash chain), never overwritten",
        )
        notify = tasks.SnsPublish(
            self,
            "Notify",
            topic=f.topic,
            result_path=S.DISCARD,
            subject=f"[{naming.group(c.customer)}] - Remediation mode switch changed",
            message=sfn.TaskInput.from_text(
                S.format(
                    "The remediation mode switch {} was changed by {} ({} at {}). It now reads: {}. "
                    "Affected customers: {}. Contact: {}",
                    parameter,
                    S.string_at("$.who.value"),
                    S.string_at("$.detail.eventName"),
                    S.string_at("$.time"),
                    S.string_at("$.mode.value"),
                    c.customer,
                    c.paging.on_call_contact,
                )
            ),
        )
        for step in (audit, notify):
            step.add_catch(failed, errors=["States.ALL"], result_path="$.error")
        audit.next(notify)
        unreadable.next(audit)
        who = sfn.Choice(self, "Who?").when(sfn.Condition.is_present("$.detail.userIdentity.arn"), caller).otherwise(other_caller)
        caller.next(read)
        other_caller.next(read)
        read.next(audit)
        return who
