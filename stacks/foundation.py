"""Shared parts of a customer's automation: key, table, status topic, mode switch, Lambda factory."""

from pathlib import Path

import jsii
from aws_cdk import Duration, IgnoreMode, IResolveContext, IStableListProducer, Lazy, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from catalog import CustomerConfig, audit_chain, naming
from catalog.customer import MODES
from stacks.nag import acknowledge_key_grants, acknowledge_wildcards, arn_of

ROOT = Path(__file__).resolve().parent.parent
# The Lambda asset is the repository filtered down to lambdas/ and catalog/ (git-ignore syntax).
ASSET_EXCLUDE = ["*", "!lambdas/", "!lambdas/**", "!catalog/", "!catalog/**", "__pycache__/", "*.pyc"]
RUNTIME = lambda_.Runtime.PYTHON_3_13
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:{version}"
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# The table's resource policy (Foundation._protect_table): DynamoDB's item writes, per what they may do to a key.
DELETES = ("DeleteItem", "PartiQLDelete", "BatchWriteItem")
AUDIT_NEVER = ("UpdateItem", "PartiQLUpdate", *DELETES)
APPENDS = ("PutItem", "UpdateItem", "PartiQLInsert", "PartiQLUpdate")
WRITES = (*APPENDS, *DELETES)


@jsii.implements(IStableListProducer)
class _RoleArns:
    """The ARNs of roles granted later than the policy naming them is built (Lazy: read at synth)."""

    def __init__(self, roles: list[iam.IRole]) -> None:
        self.roles = roles

    def produce(self, context: IResolveContext | None = None) -> list[str]:
        return [r.role_arn for r in self.roles]


class Foundation(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: CustomerConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self._log_group_arns: list[str] = []
        # the roles the table's resource policy lets append audit rows (grant_audit) and write answers (grant_answers)
        self._audit_writers: list[iam.IRole] = []
        self._answer_writers: list[iam.IRole] = []
        self.key = self._build_key()
        self.table = self._build_table()
        self._protect_table()
        self.topic = self._build_topic()
        self.mode = self._build_mode_switch()
        self.code = lambda_.Code.from_asset(str(ROOT), exclude=ASSET_EXCLUDE, ignore_mode=IgnoreMode.GIT)
        self.layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", POWERTOOLS_LAYER.format(region=config.region, version=config.powertools_layer_version)
        )
        self.audit_function = self._build_audit_function()

    def _build_audit_function(self) -> lambda_.Function:
        """The state machines' own audit rows (Report, ReportFailure, the mode change's Audit) go through it, so they
        join the hash chain; it takes calls only from a running execution at such a state."""
        fn = self.function(
            self, "AuditFunction", component=naming.AUDIT_COMPONENT, handler="lambdas.handlers.audit.handler", statements=[]
        )
        self.grant_audit(fn)
        self.grant_executions_read(fn)
        return fn

    def _build_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            description=f"{naming.group(self.config.customer)} remediation: status topic and logs",
        )
        # CloudWatch alarms publish to the encrypted topic: only this customer's alarms, in this account.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisCustomer",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=self._alarm_conditions(),
            )
        )
        # CloudWatch Logs encrypts this stack's log groups, and only those (the list grows in log_group()).
        self._logs_statement = iam.PolicyStatement(
            sid="CloudWatchLogsOfThisStack",
            principals=[iam.ServicePrincipal(f"logs.{self.config.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
        )
        key.add_to_resource_policy(self._logs_statement)
        return key

    def _alarm_conditions(self) -> dict:
        c = self.config
        return {
            "StringEquals": {"aws:SourceAccount": c.account},
            "ArnLike": {"aws:SourceArn": naming.alarm_arn_pattern(c.customer, c.region, c.account)},
        }

    def grant_table(self, grantee: iam.IGrantable, state_actions: tuple[str, ...], prefixes: tuple[str, ...]) -> None:
        """``state_actions`` on the state rows under ``prefixes`` only (the function's own: claims, open incidents,
        cooldowns, ...; dynamodb:LeadingKeys); the audit trail put-only, so no function can change or delete an
        audit row."""
        stray = [p for p in prefixes if not p.startswith(naming.STATE_KEY_PREFIXES)]
        if not prefixes or stray:
            raise ValueError(
                f"table prefixes {list(prefixes)}: give the function's own, each under one of {list(naming.STATE_KEY_PREFIXES)}"
            )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[f"dynamodb:{a}" for a in state_actions],
                resources=[self.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{p}*" for p in prefixes]}},
            )
        )
        self.grant_audit(grantee)

    def grant_audit(self, grantee: iam.IGrantable) -> None:
        """Append audit rows (Store.audit): PutItem on audit# rows only, and the chain head (chain#) read and moved
        on in the same transaction; no function can change or delete an audit row."""
        self._writer(grantee, self._audit_writers)
        table_arn = self.table.table_arn
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{naming.AUDIT_KEY_PREFIX}*"]}},
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [audit_chain.CHAIN_HEAD_PK]}},
            )
        )
        self.key.grant_encrypt_decrypt(grantee)

    def grant_answers(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> None:
        """``actions`` on the verified answers (answer#): GetItem for the steps that check a proof, PutItem for the
        answer function alone (no other function's grant names the prefix, so no other may write one; the table's
        resource policy denies it to every other principal)."""
        if set(actions) - {"GetItem"}:
            self._writer(grantee, self._answer_writers)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[f"dynamodb:{a}" for a in actions],
                resources=[self.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{naming.ANSWER_KEY_PREFIX}*"]}},
            )
        )
        self.key.grant_encrypt_decrypt(grantee)

    @staticmethod
    def _writer(grantee: iam.IGrantable, writers: list[iam.IRole]) -> None:
        role = getattr(grantee, "role", None)
        if not isinstance(role, iam.Role):
            raise ValueError(f"{grantee}: only a function's own role may write audit rows or answers")
        if role not in writers:
            writers.append(role)

    def _protect_table(self) -> None:
        """The table's resource policy (docs/audit.md), against every principal, the account's admins included:
        audit rows are append-only (no UpdateItem, DeleteItem), only the automation's function roles append them
        (PutItem with attribute_not_exists) and move the chain head; only the answer function's role writes verified
        answers. The lists of roles are filled as the functions are granted (Lazy). Only the account's root user
        can remove the policy against it (DynamoDB's lock-out guard), and any change of it pages the security team
        (catalog/security.py)."""
        c = self.config
        table = f"arn:aws:dynamodb:{c.region}:{c.account}:table/{naming.table_name(c.customer)}"  # not a GetAtt: its own
        everyone = [iam.AnyPrincipal()]
        audit_keys = [f"{naming.AUDIT_KEY_PREFIX}*"]
        chain_keys = [f"{audit_chain.CHAIN_KEY_PREFIX}*"]

        def keys(prefixes: list[str]) -> dict:
            return {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": prefixes}}

        def except_roles(writers: list[iam.IRole]) -> dict:
            return {"ArnNotEquals": {"aws:PrincipalArn": Lazy.list(_RoleArns(writers))}}

        statements = [
            iam.PolicyStatement(
                sid="AuditRowsAreNeverChanged",
                effect=iam.Effect.DENY,
                principals=everyone,
                actions=[f"dynamodb:{a}" for a in AUDIT_NEVER],
                resources=[table],
                conditions=keys(audit_keys),
            ),
            iam.PolicyStatement(
                sid="TheAuditChainHeadIsNeverDeleted",
                effect=iam.Effect.DENY,
                principals=everyone,
                actions=[f"dynamodb:{a}" for a in DELETES],
                resources=[table],
                conditions=keys(chain_keys),
            ),
            iam.PolicyStatement(
                sid="OnlyTheAutomationAppendsAuditRows",
                effect=iam.Effect.DENY,
                principals=everyone,
                actions=[f"dynamodb:{a}" for a in APPENDS],
                resources=[table],
                conditions={**keys(audit_keys + chain_keys), **except_roles(self._audit_writers)},
            ),
            iam.PolicyStatement(
                sid="OnlyTheAnswerFunctionWritesAnswers",
                effect=iam.Effect.DENY,
                principals=everyone,
                actions=[f"dynamodb:{a}" for a in WRITES],
                resources=[table],
                conditions={**keys([f"{naming.ANSWER_KEY_PREFIX}*"]), **except_roles(self._answer_writers)},
            ),
        ]
        for statement in statements:
            self.table.add_to_resource_policy(statement)

    def grant_executions_read(self, grantee: iam.IGrantable) -> None:
        """DescribeExecution / GetExecutionHistory on the customer's own executions: whether a call is made by the
        state machine's own running execution (lambdas/logic/executions.py)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:GetExecutionHistory"], resources=[self.executions_arn]
            )
        )
        role = getattr(grantee, "role", None) or grantee
        acknowledge_wildcards(
            role,
            [f"Resource::{self.executions_arn}"],
            "executions of this customer's own state machines (their names are chosen at start)",
        )

    @property
    def executions_arn(self) -> str:
        c = self.config
        return f"arn:aws:states:{c.region}:{c.account}:execution:{naming.state_machine_name(c.customer, '')}*:*"

    def grant_window_read(self, grantee: iam.IGrantable) -> None:
        """GetItem on the open maintenance windows (window#<service>) only: no other row, no write."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[self.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [naming.window_key("*")]}},
            )
        )
        self.key.grant_decrypt(grantee)

    def grant_routing_key_read(self, grantee: iam.IGrantable, teams: tuple[str, ...] | None = None) -> None:
        """GetSecretValue on the teams' PagerDuty routing keys only (paging.teams, or just ``teams``; CDK's
        grant_read adds DescribeSecret, never called). Secrets Manager appends six random characters to a
        secret's ARN."""
        c = self.config
        secrets = sorted({team.secret for name, team in c.paging.teams.items() if teams is None or name in teams})
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[f"arn:aws:secretsmanager:{c.region}:{c.account}:secret:{name}-??????" for name in secrets],
            )
        )

    def grant_mode_read(self, grantee: iam.IGrantable) -> None:
        """The one read the Lambdas make of the mode switch (CDK's grant_read adds three more)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.mode.parameter_arn])
        )

    def _build_table(self) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Table",
            table_name=naming.table_name(self.config.customer),
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,  # the audit trail outlives a stack
        )

    def _build_topic(self) -> sns.Topic:
        topic = sns.Topic(
            self,
            "StatusUpdates",
            topic_name=naming.topic_name(self.config.customer),
            display_name=f"{naming.group(self.config.customer)} status updates",
            master_key=self.key,
            enforce_ssl=True,
        )
        # The self-watch alarms (DLQ, failed executions) publish here; only this customer's alarms may.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisCustomer",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=self._alarm_conditions(),
            )
        )
        for email in self.config.paging.status_update_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _build_mode_switch(self) -> ssm.StringParameter:
        return ssm.StringParameter(
            self,
            "Mode",
            parameter_name=naming.mode_parameter_name(self.config.customer),
            string_value=self.config.mode,
            allowed_pattern=f"^({'|'.join(MODES)})$",
            description="Remediation mode: enforce | dry-run (report, change nothing) | off (page only)",
        )

    def log_group(self, scope: Construct, construct_id: str, name: str, *, retain: bool = False) -> logs.LogGroup:
        """retain: kept when the stack is deleted (the workflows' execution history is part of the audit)."""
        c = self.config
        self._log_group_arns.append(f"arn:aws:logs:{c.region}:{c.account}:log-group:{name}")
        self._logs_statement.add_condition("ArnLike", {"kms:EncryptionContext:aws:logs:arn": list(self._log_group_arns)})
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            retention=LOG_RETENTION,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        component: str,
        handler: str,
        statements: list[iam.PolicyStatement],
        timeout_seconds: int = 30,
    ) -> lambda_.Function:
        """A Lambda with its own role (least privilege), log group and the shared environment."""
        name = naming.function_name(self.config.customer, component)
        log_group = self.log_group(scope, f"{construct_id}Logs", naming.function_log_group(name))
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: only what this step needs",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group.log_group_arn}:*"])
        )
        for statement in statements:
            role.add_to_policy(statement)
        acknowledge_wildcards(role, [f"Resource::{arn_of(log_group)}:*"], "log streams of this function's own log group")
        acknowledge_wildcards(
            role,
            ["Resource::*"],
            "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level permissions",
        )
        acknowledge_key_grants(role)
        reserved = self.config.lambda_reserved_concurrency or None  # 0 / null: off
        fn = lambda_.Function(
            scope,
            construct_id,
            function_name=name,
            runtime=RUNTIME,
            handler=handler,
            code=self.code,
            layers=[self.layer],
            role=role,
            log_group=log_group,
            memory_size=256,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved,
            environment={
                "CUSTOMER_CONFIG": self.config.model_dump_json(),
                "TABLE_NAME": self.table.table_name,
                "TOPIC_ARN": self.topic.topic_arn,
                "MODE_PARAMETER": self.mode.parameter_name,
                "PAGERDUTY_SECRET_NAME": self.config.paging.pagerduty_secret_name,
                "POWERTOOLS_SERVICE_NAME": "lecture-remediation",
                "POWERTOOLS_METRICS_NAMESPACE": "LectureRemediation",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        return fn
