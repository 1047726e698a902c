"""Resource kinds: what the automation watches and acts on, each declared once (Cloud Custodian's
``resource_type``: ARNs, metric dimensions and alarms next to each other).

A kind declares how to find its instances in a customer's configuration, the ARNs IAM is scoped to,
the CloudWatch dimensions and alarm kinds of each instance, and the read-only permissions of its
diagnosis. Its behaviour lives in the layer that runs it, found by the kind's name:

  lambdas/diagnosis/<name>.py   what a page about one of its alarms carries
  sandbox/world/<name>.py       its part of the simulated world and of the sandbox report

The generic code (alarms, the rule, admit, page, record, the sandbox) only iterates over KINDS;
tests/unit/test_catalog.py fails when a declared kind lacks one of its modules.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from catalog import naming
from catalog.alarms import (
    API_GATEWAY_ALARMS,
    CLOUDFRONT_ALARMS,
    ECS_SERVICE_ALARMS,
    LAMBDA_FUNCTION_ALARMS,
    RDS_CLUSTER_ALARMS,
    AlarmKind,
)
from catalog.customer import CustomerConfig
from catalog.permissions import STATE_LOCK_READS, Condition, Permission

ArnFunction = Callable[[CustomerConfig], list[str]]


@dataclass(frozen=True)
class ResourceKind:
    name: str  # ecs_service: the module name of its diagnosis and world parts
    title: str  # "ECS service", in pages and errors
    target_field: str  # the field naming one instance in a runbook's input and in admit's decision
    instances: Callable[[CustomerConfig], tuple[str, ...]]
    arns: Mapping[str, ArnFunction]  # "" -> every instance; other keys -> parts ("task", "cluster", ...)
    dimensions: Callable[[CustomerConfig, str], dict[str, str]]
    alarm_kinds: tuple[AlarmKind, ...] = ()
    diagnosis_permissions: tuple[Permission, ...] = field(default=())
    # how long after a change an instance is left alone (respond may wait that long before an on-resolve step)
    cooldown_seconds: Callable[[CustomerConfig, str], int] = lambda c, name: 0
    # the AWS console page of one instance (a page's link); None: the kind has no console page of its own
    console_url: Callable[[CustomerConfig, str], str] | None = None
    # a maintenance window can hold an instance (maintenance-window stops it): its alarms then page at P3 only
    maintenance_window: bool = False

    def resource_arns(self, part: str, config: CustomerConfig) -> list[str]:
        if part not in self.arns:
            raise KeyError(
                f"resource kind {self.name} declares no ARNs for {part or 'its instances'!r}; "
                f"it declares: {', '.join(repr(p) for p in self.arns)}"
            )
        return self.arns[part](config)


def console(config: CustomerConfig, path: str) -> str:
    """https://<region>.console.aws.amazon.com/<path>, the console in the customer's region."""
    return f"https://{config.region}.console.aws.amazon.com/{path}"


def alarm_console_url(config: CustomerConfig, alarm: str) -> str:
    return console(config, f"cloudwatch/home?region={config.region}#alarmsV2:alarm/{alarm}")


def execution_console_url(config: CustomerConfig, workflow: str, execution: str) -> str:
    """The Step Functions console page of one execution of lecture-<c>-<workflow>."""
    arn = naming.execution_arn(config.customer, config.region, config.account, workflow, execution)
    return console(config, f"states/home?region={config.region}#/v2/executions/details/{arn}")


def _ecs_arn(config: CustomerConfig, path: str) -> str:
    return f"arn:aws:ecs:{config.region}:{config.account}:{path}"


ECS_SERVICE = ResourceKind(
    name="ecs_service",
    title="ECS service",
    target_field="service",
    instances=lambda c: tuple(s.name for s in c.ecs.services),
    arns={
        "": lambda c: [_ecs_arn(c, f"service/{c.ecs.cluster}/{s.name}") for s in c.ecs.services],
        "cluster": lambda c: [_ecs_arn(c, f"cluster/{c.ecs.cluster}")],
        "task": lambda c: [_ecs_arn(c, f"task/{c.ecs.cluster}/*")],
        # Scalable target ARNs carry a random id assigned by AWS: scoped to the account and region.
        "scalable_target": lambda c: [f"arn:aws:application-autoscaling:{c.region}:{c.account}:scalable-target/*"],
        # the content bucket the services serve (content_bucket, default content-<c>-prod): health-check's HeadBucket
        "content_bucket": lambda c: [_s3_arn(c.content_bucket)],
        # the services' log groups (ecs.services[].log_group): streams and their events
        "log_group": lambda c: [f"arn:aws:logs:{c.region}:{c.account}:log-group:{s.log_group}:*" for s in c.ecs.services],
    },
    dimensions=lambda c, name: {"ClusterName": c.ecs.cluster, "ServiceName": name},
    cooldown_seconds=lambda c, name: c.service(name).cooldown_seconds,
    console_url=lambda c, name: console(c, f"ecs/v2/clusters/{c.ecs.cluster}/services/{name}/health?region={c.region}"),
    alarm_kinds=ECS_SERVICE_ALARMS,
    diagnosis_permissions=(
        Permission(("ecs:DescribeServices",), resource="ecs_service"),
        Permission(("ecs:DescribeTasks",), resource="ecs_service.task"),
        # ListTasks has no resource-level permission; the condition keeps it to the customer's cluster.
        Permission(
            ("ecs:ListTasks",), resource="*", conditions=(Condition("ArnEquals", "ecs:cluster", resource="ecs_service.cluster"),)
        ),
        # DescribeTaskDefinition has no resource-level permission (Service Authorization Reference); read-only
        Permission(("ecs:DescribeTaskDefinition",), resource="*"),
        Permission(("logs:DescribeLogStreams", "logs:GetLogEvents"), resource="ecs_service.log_group"),
    ),
    maintenance_window=True,
)

LAMBDA_FUNCTION = ResourceKind(
    name="lambda_function",
    title="Lambda function",
    target_field="function",
    instances=lambda c: (c.function,),
    arns={"": lambda c: [f"arn:aws:lambda:{c.region}:{c.account}:function:{c.function}"]},
    dimensions=lambda c, name: {"FunctionName": name},
    console_url=lambda c, name: console(c, f"lambda/home?region={c.region}#/functions/{name}"),
    alarm_kinds=LAMBDA_FUNCTION_ALARMS,
    diagnosis_permissions=(
        Permission(("lambda:GetFunction",), resource="lambda_function"),
        # GetMetricStatistics has no resource-level permission; read-only
        Permission(("cloudwatch:GetMetricStatistics",), resource="*"),
    ),
)

API_GATEWAY = ResourceKind(
    name="api_gateway",
    title="API Gateway REST API",
    target_field="api",
    # only when the customer file names an API (api: {name, stage})
    instances=lambda c: (c.api.name,) if c.api else (),
    arns={
        # API Gateway ARNs have no account; the API's id is AWS's, so its stages are found by name
        "": lambda c: (
            [f"arn:aws:apigateway:{c.region}::/restapis", f"arn:aws:apigateway:{c.region}::/restapis/*"] if c.api else []
        ),
    },
    dimensions=lambda c, name: {"ApiName": name, "Stage": c.api.stage if c.api else ""},
    alarm_kinds=API_GATEWAY_ALARMS,
    diagnosis_permissions=(Permission(("apigateway:GET",), resource="api_gateway"),),
)

# CloudFront publishes its metrics in us-east-1 only (dimension Region=Global); an alarm in another region
# cannot read them. So the distribution is an instance (alarms, diagnosis) only of a stack in us-east-1.
CLOUDFRONT_METRICS_REGION = "us-east-1"

CLOUDFRONT = ResourceKind(
    name="cloudfront",
    title="CloudFront distribution",
    target_field="distribution_id",
    instances=lambda c: (c.cdn.distribution_id,) if c.cdn and c.region == CLOUDFRONT_METRICS_REGION else (),
    arns={"": lambda c: [f"arn:aws:cloudfront::{c.account}:distribution/{c.cdn.distribution_id}"] if c.cdn else []},
    dimensions=lambda c, name: {"DistributionId": name, "Region": "Global"},
    alarm_kinds=CLOUDFRONT_ALARMS,
    diagnosis_permissions=(Permission(("cloudfront:GetDistribution",), resource="cloudfront"),),
)


def _s3_arn(bucket: str, key: str = "") -> str:
    # S3 ARNs are global: no region, no account (the backup bucket may be another account's)
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")


def state_basename(config: CustomerConfig) -> str:
    """lecture-dhbw/terraform.tfstate -> terraform.tfstate: the name its backups are kept under."""
    return config.terraform.state_key.rsplit("/", 1)[-1]


def backup_key(config: CustomerConfig, suffix: str) -> str:
    """<prefix>terraform.tfstate.<suffix>: .YYYYMMDD (the runbook's name) or .backup (what a restore reads)."""
    return f"{config.terraform.backup_prefix}{state_basename(config)}.{suffix}"


def lock_path(config: CustomerConfig) -> str:
    """The LockID Terraform's S3 backend uses for the customer's state: <bucket>/<key>."""
    return config.terraform.lock_path


# Parts whose values are not ARNs but condition values (s3:prefix, dynamodb:LeadingKeys) are named *_value.
TERRAFORM_STATE = ResourceKind(
    name="terraform_state",
    title="Terraform state",
    target_field="state_key",
    instances=lambda c: (c.terraform.state_key,),
    arns={
        "": lambda c: [_s3_arn(c.terraform.state_bucket, c.terraform.state_key)],
        "bucket": lambda c: [_s3_arn(c.terraform.state_bucket)],
        "backup": lambda c: [_s3_arn(c.terraform.backup_bucket, f"{c.terraform.backup_prefix}*")],
        "backup_bucket": lambda c: [_s3_arn(c.terraform.backup_bucket)],
        # ListBucket on the backup bucket only to find out whether .backup exists (404, not 403)
        "backup_listing_value": lambda c: [backup_key(c, "backup")],
    },
    dimensions=lambda c, name: {},
    diagnosis_permissions=(
        Permission(("s3:GetObject",), resource="terraform_state"),
        Permission(("s3:GetBucketVersioning",), resource="terraform_state.bucket"),
    ),
)

STATE_LOCK = ResourceKind(
    name="state_lock",
    title="Terraform state lock",
    target_field="lock_path",
    instances=lambda c: (lock_path(c),),
    arns={
        # The lock table is shared by every state in the account: reads are limited to this state's LockID
        # (dynamodb:LeadingKeys, part "lock_id_value").
        "": lambda c: [f"arn:aws:dynamodb:{c.region}:{c.account}:table/{c.terraform.lock_table}"],
        "tflock": lambda c: [_s3_arn(c.terraform.state_bucket, f"{c.terraform.state_key}.tflock")],
        "state_bucket": lambda c: [_s3_arn(c.terraform.state_bucket)],
        "lock_id_value": lambda c: [lock_path(c)],
        # the state's digest item, which Terraform checks the state against (only a restore updates it)
        "digest_id_value": lambda c: [f"{lock_path(c)}-md5"],
        "tflock_listing_value": lambda c: [f"{c.terraform.state_key}.tflock"],
    },
    dimensions=lambda c, name: {},
    diagnosis_permissions=STATE_LOCK_READS,
)


def _rds_arn(config: CustomerConfig, path: str) -> str:
    return f"arn:aws:rds:{config.region}:{config.account}:{path}"


RDS_CLUSTER = ResourceKind(
    name="rds_cluster",
    title="Aurora cluster",
    target_field="cluster",
    instances=lambda c: (c.rds.cluster,),
    arns={
        "": lambda c: [_rds_arn(c, f"cluster:{c.rds.cluster}")],
        # the automation's own snapshots, by name (lecture-<c>-<manual|auto>-...); deletes also need its tag
        "snapshot": lambda c: [_rds_arn(c, f"cluster-snapshot:{naming.snapshot_prefix(c.customer)}*")],
        # any snapshot of the account (read: the cluster's snapshots, people's and AWS's automated ones included)
        "any_snapshot": lambda c: [_rds_arn(c, "cluster-snapshot:*")],
        # the cluster's member instances: their names are the customer's, not ours
        "instance": lambda c: [_rds_arn(c, "db:*")],
        # what restore-rds-cluster may create (lecture-<c>-cluster-restored) and restore-drill its drill clusters
        "restored": lambda c: [_rds_arn(c, f"cluster:{naming.restored_cluster_name(c.customer)}")],
        "drill": lambda c: [_rds_arn(c, f"cluster:{naming.drill_cluster_prefix(c.customer)}*")],
        # snapshots a restore may read from: the automation's (lecture-<c>-*) and AWS's automated ones of the
        # cluster (rds:<cluster>-<date>)
        "restorable_snapshot": lambda c: [
            _rds_arn(c, f"cluster-snapshot:{naming.snapshot_prefix(c.customer)}*"),
            _rds_arn(c, f"cluster-snapshot:rds:{c.rds.cluster}-*"),
        ],
        # every cluster of the account (read only: restore-drill looks for drill clusters left over)
        "any_cluster": lambda c: [_rds_arn(c, "cluster:*")],
        # a restore joins the original cluster's DB subnet group: the configured one (rds.subnet_group), else any
        # (its name is the customer's; act reads it from the original, never from the plan)
        "subnet_group": lambda c: [_rds_arn(c, f"subgrp:{c.rds.subnet_group or '*'}")],
        # a restore names no parameter group or option group, so it gets the engine's defaults
        # (default.aurora-postgresql<n>, default:aurora-postgresql-<n>): RestoreDBClusterFromSnapshot requires
        # both resource types (the Service Authorization Reference; sandbox/resource_types.py checks it)
        "default_parameter_group": lambda c: [_rds_arn(c, "cluster-pg:default.*")],
        "default_option_group": lambda c: [_rds_arn(c, "og:default:*")],
        # DeleteDBCluster requires the cluster-snapshot type (its final snapshot): the drill skips the final
        # snapshot, so this names only what such a snapshot of a drill cluster would be called
        "drill_final_snapshot": lambda c: [_rds_arn(c, f"cluster-snapshot:{naming.drill_cluster_prefix(c.customer)}*")],
    },
    dimensions=lambda c, name: {"DBClusterIdentifier": name},
    console_url=lambda c, name: console(c, f"rds/home?region={c.region}#database:id={name};is-cluster=true"),
    alarm_kinds=RDS_CLUSTER_ALARMS,
    diagnosis_permissions=(
        Permission(("rds:DescribeDBClusters",), resource="rds_cluster"),
        Permission(("rds:DescribeDBInstances",), resource="rds_cluster.instance"),
        # DescribeEvents has no resource-level permission (Service Authorization Reference); read-only
        Permission(("rds:DescribeEvents",), resource="*"),
    ),
)

KINDS: dict[str, ResourceKind] = {
    k.name: k for k in (ECS_SERVICE, RDS_CLUSTER, LAMBDA_FUNCTION, API_GATEWAY, CLOUDFRONT, TERRAFORM_STATE, STATE_LOCK)
}


def kind(name: str) -> ResourceKind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown resource kind {name!r}; known: {', '.join(KINDS)}") from None


def resolve(reference: str, config: CustomerConfig) -> list[str]:
    """'*', '<kind>' or '<kind>.<part>' -> ARNs of the customer's resources."""
    if reference == "*":
        return ["*"]
    name, _, part = reference.partition(".")
    return kind(name).resource_arns(part, config)


@dataclass(frozen=True)
class WatchedAlarm:
    """One alarm the stack creates: an alarm kind on one instance of a resource kind."""

    name: str
    kind: ResourceKind
    alarm: AlarmKind
    target: str  # the instance, e.g. the service name


def watched_alarms(config: CustomerConfig) -> dict[str, WatchedAlarm]:
    """Every alarm this customer's stack creates, by name."""
    return {
        (name := naming.alarm_name(config.customer, target, alarm.condition)): WatchedAlarm(name, k, alarm, target)
        for k in KINDS.values()
        for target in k.instances(config)
        for alarm in k.alarm_kinds
    }
