"""A customer stack's side of the fleet: its incident events forwarded to the ops bus, its OAM link."""

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_oam as oam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from catalog import CustomerConfig, naming
from catalog.fleet import OpsConfig
from stacks.fleet import OAM_RESOURCE_TYPES


class FleetLink(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: CustomerConfig, ops: OpsConfig, dead_letters: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        bus_arn = naming.ops_bus_arn(ops.region, ops.account)
        ops_bus = events.EventBus.from_event_bus_arn(self, "OpsBus", bus_arn)
        # EventBridge's cross-account target: its own role, allowed PutEvents on the ops bus and nothing else
        self.role = iam.Role(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description=f"{naming.group(config.customer)}: forwards incident events to the ops bus",
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn]))
        self.rule = events.Rule(
            self,
            "IncidentsToOps",
            rule_name=naming.forward_rule_name(config.customer),
            description=f"{naming.group(config.customer)} incident events -> the ops bus ({ops.account})",
            event_pattern=events.EventPattern(
                source=[naming.INCIDENT_EVENT_SOURCE],
                detail_type=[naming.INCIDENT_EVENT_DETAIL_TYPE],
                account=[config.account],
                region=[config.region],
            ),
            targets=[targets.EventBus(ops_bus, role=self.role, dead_letter_queue=dead_letters)],
        )
        self.link = (
            oam.CfnLink(
                self,
                "OamLink",
                label_template=naming.group(config.customer),
                resource_types=OAM_RESOURCE_TYPES,
                sink_identifier=ops.observability.sink_arn,
            )
            if ops.observability.sink_arn
            else None
        )


def grant_emit(grantee: iam.IGrantable, config: CustomerConfig) -> None:
    """PutEvents on the customer's default bus: where admit and record put the incident events."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[f"arn:aws:events:{config.region}:{config.account}:event-bus/default"],
        )
    )
