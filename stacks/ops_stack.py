"""lecture-ops-remediation: the ops account, where every customer's incidents meet (issue 16). Composes only."""

from aws_cdk import CfnOutput, Environment, Stack
from constructs import Construct

from catalog import CustomerConfig, naming
from catalog.fleet import OpsConfig
from stacks.fleet import Correlation, FleetBus, FleetDashboard, FleetSink, OpsFoundation
from stacks.nag import acknowledge


class OpsStack(Stack):
    def __init__(self, scope: Construct, *, ops: OpsConfig, customers: list[CustomerConfig], **kwargs) -> None:
        super().__init__(
            scope,
            naming.ops_stack_name(),
            stack_name=naming.ops_stack_name(),
            env=Environment(account=ops.account, region=ops.region),
            description="The fleet: every customer's incidents, the P0 by correlation, the fleet dashboard",
            **kwargs,
        )
        self.foundation = OpsFoundation(self, "Foundation", ops=ops)
        self.bus = FleetBus(self, "Bus", ops=ops)
        self.correlation = Correlation(self, "Correlation", ops=ops, foundation=self.foundation, bus=self.bus.bus)
        self.sink = FleetSink(self, "Sink", ops=ops)
        self.dashboard = FleetDashboard(self, "Dashboard", customers=customers)
        CfnOutput(self, "IncidentBus", value=self.bus.bus.event_bus_arn)
        CfnOutput(self, "CorrelateStateMachine", value=self.correlation.state_machine.state_machine_arn)
        CfnOutput(self, "FleetTable", value=self.foundation.table.table_name)
        CfnOutput(self, "StatusTopic", value=self.foundation.topic.topic_arn)
        CfnOutput(self, "OamSinkArn", value=self.sink.sink.attr_arn)
        acknowledge(self, "L1", "The correlate function pins python3.13, like the customer stacks' (Powertools v3 layer).")
        acknowledge(self, "SQS3", "The only queue is the dead-letter queue of the incident rule.")
