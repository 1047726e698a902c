"""lecture-<customer>-remediation: composes the constructs; builds nothing itself."""

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from catalog import RUNBOOKS, CustomerConfig, naming
from catalog.fleet import OpsConfig
from stacks.alarms import AlarmRouting, ResourceAlarms
from stacks.approvals import Approvals
from stacks.audit_export import AuditExport
from stacks.dashboard import OverviewDashboard
from stacks.fleet_link import FleetLink, grant_emit
from stacks.foundation import Foundation
from stacks.maintenance_workflow import MaintenanceWorkflow
from stacks.mode_watch import ModeChangeWatch
from stacks.nag import acknowledge_stack
from stacks.respond_workflow import RespondWorkflow
from stacks.runbook_workflow import RunbookWorkflow
from stacks.schedules import RunbookSchedules
from stacks.security_events import SecurityEvents
from stacks.service_events import ServiceEvents


class RemediationStack(Stack):
    def __init__(self, scope: Construct, *, config: CustomerConfig, ops: OpsConfig | None = None, **kwargs) -> None:
        super().__init__(
            scope,
            naming.stack_name(config.customer),
            stack_name=naming.stack_name(config.customer),
            env=Environment(account=config.account, region=config.region),
            description=f"Automated runbook remediation for customer {config.customer}",
            **kwargs,
        )
        self.config = config
        self.foundation = Foundation(self, "Foundation", config=config)
        self.approvals = (
            Approvals(self, "Approvals", config=config, foundation=self.foundation)
            if any(rb.approval or rb.notify_teams or rb.workflow == "maintenance" for rb in RUNBOOKS.values())
            else None
        )
        guarded = [
            RunbookWorkflow(
                self, f"Runbook-{rb.name}", runbook=rb, config=config, foundation=self.foundation, approvals=self.approvals
            )
            for rb in RUNBOOKS.values()
            if rb.workflow == "guarded"
        ]
        by_name = {rb.runbook.name: rb for rb in guarded}
        # workflows of their own shape (catalog: Runbook.workflow), started by hand, not through respond
        self.runbooks = guarded + [
            MaintenanceWorkflow(
                self,
                f"Runbook-{rb.name}",
                runbook=rb,
                config=config,
                foundation=self.foundation,
                children=by_name,
                approvals=self.approvals,
            )
            for rb in RUNBOOKS.values()
            if rb.workflow == "maintenance"
        ]
        self.respond = RespondWorkflow(self, "Respond", config=config, foundation=self.foundation, runbooks=guarded)
        self.mode_watch = ModeChangeWatch(self, "ModeChanges", config=config, foundation=self.foundation)
        self.alarms = ResourceAlarms(self, "Alarms", config=config)
        workflows = {
            "respond": self.respond.state_machine,
            **{rb.runbook.name: rb.state_machine for rb in self.runbooks},
            naming.MODE_CHANGE_WORKFLOW: self.mode_watch.state_machine,
        }
        self.routing = AlarmRouting(
            self,
            "Routing",
            config=config,
            foundation=self.foundation,
            alarm_names=self.alarms.names,
            respond=self.respond.state_machine,
            watched=workflows,
        )
        self.dashboard = OverviewDashboard(
            self, "Overview", config=config, workflows=workflows, dead_letters=self.routing.dead_letters
        )
        self.schedules = RunbookSchedules(
            self, "Schedules", config=config, respond=self.respond.state_machine, dead_letters=self.routing.dead_letters
        )
        self.security = SecurityEvents(
            self, "SecurityEvents", config=config, respond=self.respond.state_machine, dead_letters=self.routing.dead_letters
        )
        self.service_events = ServiceEvents(
            self, "ServiceEvents", config=config, respond=self.respond.state_machine, dead_letters=self.routing.dead_letters
        )
        # the fleet (issue 16): admit and record emit incident events; a rule forwards them to the ops bus
        for fn in (self.respond.admit_fn, self.respond.record_fn):
            grant_emit(fn, config)
        self.fleet = FleetLink(self, "Fleet", config=config, ops=ops, dead_letters=self.routing.dead_letters) if ops else None
        self.audit_export = AuditExport(
            self, "AuditExport", config=config, foundation=self.foundation, dead_letters=self.routing.dead_letters
        )
        CfnOutput(self, "RespondStateMachine", value=self.respond.state_machine.state_machine_arn)
        for rb in self.runbooks:
            CfnOutput(
                self,
                f"{naming.module_name(rb.runbook.name).title().replace('_', '')}StateMachine",
                value=rb.state_machine.state_machine_arn,
            )
        CfnOutput(self, "ModeParameter", value=self.foundation.mode.parameter_name)
        CfnOutput(self, "StatusTopic", value=self.foundation.topic.topic_arn)
        CfnOutput(self, "AuditExportBucket", value=self.audit_export.bucket.bucket_name)
        acknowledge_stack(self)
