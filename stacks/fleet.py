"""The ops stack's parts: its key, table and topic; the incident bus that only customer accounts may put to; the
correlation (an incident event -> the fleet's picture -> the P0); the OAM sink; the fleet dashboard."""

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_oam as oam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from catalog import CustomerConfig, naming, watched_alarms
from catalog.fleet import OpsConfig
from stacks.foundation import ASSET_EXCLUDE, LOG_RETENTION, POWERTOOLS_LAYER, ROOT, RUNTIME
from stacks.nag import acknowledge_key_grants, acknowledge_wildcards, arn_of
from stacks.workflow_parts import lambda_step, state_machine

# What the customer stacks share through the OAM link: their metrics (the down alarms' and the automation's own).
OAM_RESOURCE_TYPES = ["AWS::CloudWatch::Metric"]
WIDTH = 24
POWERTOOLS_VERSION = 27  # the customer files' default (powertools_layer_version)


class OpsFoundation(Construct):
    """The ops account's key, fleet table (open incidents per customer, the down customers, the P0) and topic."""

    def __init__(self, scope: Construct, construct_id: str, *, ops: OpsConfig) -> None:
        super().__init__(scope, construct_id)
        self.ops = ops
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            description=f"{naming.group(naming.OPS)}: fleet table, status topic and logs",
        )
        self._log_group_arns: list[str] = []
        self._logs_statement = iam.PolicyStatement(
            sid="CloudWatchLogsOfThisStack",
            principals=[iam.ServicePrincipal(f"logs.{ops.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
        )
        self.key.add_to_resource_policy(self._logs_statement)
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=naming.ops_table_name(),
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,  # the fleet's audit trail outlives a stack
        )
        self.topic = sns.Topic(
            self,
            "StatusUpdates",
            topic_name=naming.topic_name(naming.OPS),
            display_name=f"{naming.group(naming.OPS)} fleet status updates",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=naming.dead_letter_queue_name(naming.OPS),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.code = lambda_.Code.from_asset(str(ROOT), exclude=ASSET_EXCLUDE, ignore_mode=IgnoreMode.GIT)
        self.layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", POWERTOOLS_LAYER.format(region=ops.region, version=27)
        )

    def log_group(self, scope: Construct, construct_id: str, name: str) -> logs.LogGroup:
        self._log_group_arns.append(f"arn:aws:logs:{self.ops.region}:{self.ops.account}:log-group:{name}")
        self._logs_statement.add_condition("ArnLike", {"kms:EncryptionContext:aws:logs:arn": list(self._log_group_arns)})
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            retention=LOG_RETENTION,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )


class FleetBus(Construct):
    """The incident bus: PutEvents from the customer accounts of the customer files, no one else."""

    def __init__(self, scope: Construct, construct_id: str, *, ops: OpsConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=naming.ops_bus_name())
        self.bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CustomerAccountsPutIncidentEvents",
                principals=[iam.AccountPrincipal(a) for a in ops.customer_accounts],
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
            )
        )


class Correlation(Construct):
    """lecture-ops-correlate: an incident event -> correlate (the fleet table; the P0 opened, updated or resolved);
    when fewer than min_customers stay down, it waits recover_minutes and looks again (the P0 resolves once)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, ops: OpsConfig, foundation: OpsFoundation, bus: events.IEventBus
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._build_function(ops, foundation)
        name = naming.state_machine_name(naming.OPS, naming.CORRELATE_WORKFLOW)
        correlate = lambda_step(
            self, "Correlate", self.function, {"event.$": "$", "execution.$": "$$.Execution.Id"}, result_path="$.correlate"
        )
        recheck = lambda_step(
            self,
            "Recheck",
            self.function,
            {"recheck.$": "$.correlate.recheck", "execution.$": "$$.Execution.Id"},
            result_path="$.recheck",
        )
        wait = sfn.Wait(
            self,
            "WaitForRecovery",
            time=sfn.WaitTime.duration(Duration.minutes(ops.correlation.recover_minutes)),
            comment="fewer than min_customers are down: the P0 resolves if it stays so for recover_minutes",
        )
        done = sfn.Succeed(self, "Done")
        definition = correlate.next(
            sfn.Choice(self, "Recovering?")
            .when(sfn.Condition.is_present("$.correlate.recheck"), wait.next(recheck).next(done))
            .otherwise(done)
        )
        self.state_machine = state_machine(
            self,
            "StateMachine",
            name=name,
            definition=definition,
            log_group=foundation.log_group(self, "StateMachineLogs", naming.state_machine_log_group(name)),
            timeout=Duration.minutes(ops.correlation.recover_minutes + 30),
            comment="incident event -> correlate -> (recovering: wait recover_minutes -> recheck)",
        )
        acknowledge_wildcards(
            self.state_machine.role, [f"Resource::{arn_of(self.function)}:*"], "versions of this stack's correlate function"
        )
        self.rule = events.Rule(
            self,
            "IncidentEvents",
            event_bus=bus,
            rule_name=naming.rule_name(naming.OPS, "incident-events"),
            description="the customers' incident events -> correlate (the function checks the sending account)",
            event_pattern=events.EventPattern(
                source=[naming.INCIDENT_EVENT_SOURCE], detail_type=[naming.INCIDENT_EVENT_DETAIL_TYPE]
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    dead_letter_queue=foundation.dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(2),
                )
            ],
        )

    @staticmethod
    def _build_function(ops: OpsConfig, f: OpsFoundation) -> lambda_.Function:
        name = naming.function_name(naming.OPS, naming.CORRELATE_WORKFLOW)
        log_group = f.log_group(f, "CorrelateLogs", naming.function_log_group(name))
        role = iam.Role(
            f,
            "CorrelateRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: fleet table, P0 page",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group.log_group_arn}:*"])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[f"dynamodb:{a}" for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query")],
                resources=[f.table.table_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[f"arn:aws:secretsmanager:{ops.region}:{ops.account}:secret:{ops.paging.pagerduty_secret_name}-??????"],
            )
        )
        f.key.grant_encrypt_decrypt(role)
        f.topic.grant_publish(role)
        acknowledge_wildcards(role, [f"Resource::{arn_of(log_group)}:*"], "log streams of this function's own log group")
        acknowledge_wildcards(
            role, ["Resource::*"], "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions"
        )
        acknowledge_key_grants(role)
        return lambda_.Function(
            f,
            "Correlate",
            function_name=name,
            runtime=RUNTIME,
            handler="lambdas.handlers.correlate.handler",
            code=f.code,
            layers=[f.layer],
            role=role,
            log_group=log_group,
            memory_size=256,
            timeout=Duration.seconds(30),
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "OPS_CONFIG": ops.model_dump_json(),
                "TABLE_NAME": f.table.table_name,
                "TOPIC_ARN": f.topic.topic_arn,
                "POWERTOOLS_SERVICE_NAME": "lecture-remediation",
                "POWERTOOLS_METRICS_NAMESPACE": naming.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )


class FleetSink(Construct):
    """CloudWatch cross-account observability: the OAM sink the customer accounts (and only they) link to."""

    def __init__(self, scope: Construct, construct_id: str, *, ops: OpsConfig) -> None:
        super().__init__(scope, construct_id)
        self.sink = oam.CfnSink(
            self,
            "Sink",
            name=naming.oam_sink_name(),
            policy={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": ops.customer_accounts},
                        "Action": ["oam:CreateLink", "oam:UpdateLink"],
                        "Resource": "*",
                        "Condition": {"ForAllValues:StringEquals": {"oam:ResourceTypes": OAM_RESOURCE_TYPES}},
                    }
                ],
            },
        )


class FleetDashboard(Construct):
    """Lecture-Fleet-Overview: per customer, its down alarms and its incidents, read through the OAM link from the
    customer's own account (the metrics stay where they are; nothing is copied)."""

    def __init__(self, scope: Construct, construct_id: str, *, customers: list[CustomerConfig]) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=naming.FLEET_DASHBOARD, default_interval=Duration.hours(3)
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="## The fleet: each customer's down alarms and incidents, from its own account", width=WIDTH, height=1
            )
        )
        for config in customers:
            self.dashboard.add_widgets(*self._customer_widgets(config))

    def _customer_widgets(self, config: CustomerConfig) -> list[cloudwatch.IWidget]:
        down = [(name, w) for name, w in watched_alarms(config).items() if w.alarm.down]
        # the customer's own down alarms (in its account, through the OAM link): their state, not a copy
        alarms = [
            cloudwatch.Alarm.from_alarm_arn(
                self, f"{config.customer}-{name}", f"arn:aws:cloudwatch:{config.region}:{config.account}:alarm:{name}"
            )
            for name, _ in down
        ]
        metrics = [
            cloudwatch.Metric(
                namespace=w.alarm.namespace,
                metric_name=w.alarm.metric,
                statistic=w.alarm.statistic,
                period=Duration.seconds(w.alarm.period_seconds),
                dimensions_map=w.kind.dimensions(config, w.target),
                account=config.account,
                region=config.region,
                label=name,
            )
            for name, w in down
        ]
        opened = {
            f"d{i}": cloudwatch.Metric(
                namespace=naming.METRICS_NAMESPACE,
                metric_name=f"decision_{d}",
                statistic="Sum",
                period=Duration.minutes(5),
                dimensions_map={"service": naming.METRICS_SERVICE},
                account=config.account,
                region=config.region,
            )
            for i, d in enumerate(("remediate", "page"))
        }
        return [
            cloudwatch.AlarmStatusWidget(title=f"{config.customer}: down alarms", alarms=alarms, width=WIDTH, height=2),
            cloudwatch.GraphWidget(
                title=f"{config.customer}: down alarms' metrics (account {config.account})", width=12, left=metrics
            ),
            cloudwatch.GraphWidget(
                title=f"{config.customer}: incidents opened (admit's decisions)",
                width=12,
                left=[
                    cloudwatch.MathExpression(
                        expression=" + ".join(f"FILL({m}, 0)" for m in opened),
                        using_metrics=opened,
                        label="incidents",
                        period=Duration.minutes(5),
                    )
                ],
            ),
        ]
