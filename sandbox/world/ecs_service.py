"""The ecs_service kind's part of the simulated world: the customer's ECS cluster and services.

moto's ECS sets runningCount = desiredCount at once; the world can instead make new tasks fail to
start, as a crash loop or a missing image would, so verify and timeouts can be exercised.
"""

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog import naming


class MaintenanceWindowWorld(BaseModel):
    """A maintenance window already open on the service when the scenario starts (its window#<service> row), as a
    maintenance-window execution leaves it; minutes_left <= 0: expired (a crashed execution's)."""

    model_config = ConfigDict(extra="forbid")

    execution: str = Field(default="gameday-window", min_length=1, max_length=80)
    minutes_left: int = Field(default=30, ge=-10080, le=10080)


class EcsServiceWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    desired: int = Field(default=2, ge=0)
    running: int | None = Field(default=None, ge=0, description="defaults to desired")
    min: int | None = Field(default=None, ge=0, description="bounds override for the deployed config")
    max: int | None = Field(default=None, ge=0)
    autoscaling: bool = Field(default=False, description="register an Application Auto Scaling target")
    floor: int | None = Field(default=None, ge=0, description="its MinCapacity (default: the service's min_tasks)")
    maintenance_window: MaintenanceWindowWorld | None = Field(default=None, description="a window already open")
    tasks_fail_to_start: bool = Field(default=False, description="new tasks never reach RUNNING")
    log_group_exists: bool = Field(
        default=True,
        description="false: the service's log group (ecs.services[].log_group) is missing, so the diagnosis cannot read it",
    )
    log_lines: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LOG_LINES), description="what the service's newest log stream holds"
    )

    @model_validator(mode="after")
    def _bounds(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


DEFAULT_LOG_LINES = (
    "INFO  GET /api/lectures 200 84ms",
    "WARN  GET /api/lectures/4711/stream 200 2310ms (slow)",
    "ERROR POST /api/quiz/answers 500: upstream request timeout",
)

KEY = "ecs"  # world.ecs in scenario files and in the report
Spec = EcsServiceWorld
AWS_SERVICES = ("ecs", "application-autoscaling")  # calls on these show the service before and after


def instance_of(operation: str, params: dict) -> str | None:
    """The service an UpdateService / RegisterScalableTarget call is about."""
    return (params.get("service") or params.get("ResourceId", "")).split("/")[-1] or None


def check(config, specs: dict[str, EcsServiceWorld]) -> None:
    """Bounds come from the customer file: a world that says otherwise is a mistake, not an override."""
    for name, spec in specs.items():
        _check_service(config, name, spec)


def _check_service(config, name: str, spec: EcsServiceWorld) -> None:
    try:
        svc = config.service(name)
    except KeyError as exc:
        raise ValueError(f"world.ecs.{name}: {exc.args[0]}") from None
    if spec.floor is not None and not (spec.autoscaling and svc.min_tasks <= spec.floor <= svc.max_tasks):
        raise ValueError(
            f"world.ecs.{name}.floor {spec.floor} needs autoscaling: true and a value within "
            f"{svc.min_tasks}..{svc.max_tasks} (customers/{config.customer}.yaml)"
        )
    for field, configured in (("min", svc.min_tasks), ("max", svc.max_tasks)):
        given = getattr(spec, field)
        if given is not None and given != configured:
            raise ValueError(
                f"world.ecs.{name}.{field} is {given} but customers/{config.customer}.yaml "
                f"sets {field}_tasks {configured}; bounds come from the customer file"
            )


def _ecs_backend(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def build(clients, config, specs: dict[str, EcsServiceWorld], account: str, region: str) -> None:
    """Create the cluster and every configured service, at desired = running (unless overridden)."""
    ecs = clients("ecs")
    cluster = config.ecs.cluster
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="lecture-backend",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        networkMode="awsvpc",
        containerDefinitions=[{"name": "backend", "image": "lecture/backend:latest", "memory": 512, "cpu": 256}],
    )
    aas, logs = clients("application-autoscaling"), clients("logs")
    # the content bucket the services serve (health-check's HeadBucket), as the customer's Terraform creates it
    clients("s3").create_bucket(Bucket=config.content_bucket, CreateBucketConfiguration={"LocationConstraint": region})
    for svc in config.ecs.services:
        spec = specs.get(svc.name, EcsServiceWorld(desired=svc.min_tasks))
        if spec.log_group_exists:
            _write_logs(logs, svc.log_group, spec.log_lines)
        ecs.create_service(
            cluster=cluster,
            serviceName=svc.name,
            taskDefinition="lecture-backend",
            desiredCount=spec.desired,
            launchType="FARGATE",
        )
        service = _ecs_backend(account, region).services[f"{cluster}:{svc.name}"]
        _set_counts(service, spec.desired, spec.desired if spec.running is None else spec.running)
        service.sandbox_tasks_fail_to_start = spec.tasks_fail_to_start
        if spec.autoscaling:
            aas.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=f"service/{cluster}/{svc.name}",
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=svc.min_tasks if spec.floor is None else spec.floor,
                MaxCapacity=svc.max_tasks,
            )
        if spec.maintenance_window:
            _open_window(clients, config, svc.name, spec.maintenance_window)


def _open_window(clients, config, service: str, spec: MaintenanceWindowWorld) -> None:
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=spec.minutes_left)
    clients("dynamodb").put_item(
        TableName=naming.table_name(config.customer),
        Item={
            "pk": {"S": naming.window_key(service)},
            "sk": {"S": "open"},
            "execution": {"S": spec.execution},
            "opened": {"S": now.isoformat()},
            "expires": {"S": expires.isoformat()},
            "expires_epoch": {"N": str(int(expires.timestamp()))},
        },
    )


def _windows(clients, config) -> dict:
    """The open window rows by service: what admit holds the services' alarms back with."""
    out = {}
    for svc in config.ecs.services:
        item = clients("dynamodb").get_item(
            TableName=naming.table_name(config.customer),
            ConsistentRead=True,
            Key={"pk": {"S": naming.window_key(svc.name)}, "sk": {"S": "open"}},
        )
        found = item.get("Item")
        if found:
            out[svc.name] = {k: found[k]["S"] for k in ("execution", "opened", "expires") if k in found}
            out[svc.name].update({k: int(found[k]["N"]) for k in ("desired", "floor") if "N" in found.get(k, {})})
    return out


def _write_logs(logs, group: str, lines: list[str]) -> None:
    """The service's log group with one stream (awslogs: <prefix>/<container>/<task id>) holding ``lines``."""
    stream = "ecs/backend/0123456789abcdef0123456789abcdef"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    if lines:
        now = int(datetime.now(UTC).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now - (len(lines) - i) * 1000, "message": line} for i, line in enumerate(lines)],
        )


def _set_counts(service, desired: int, running: int, failed: int = 0) -> None:
    service.desired_count = desired
    service.running_count = running
    service.pending_count = max(desired - running, 0)
    for d in service.deployments:
        d.update(
            desiredCount=desired,
            runningCount=running,
            pendingCount=service.pending_count,
            rolloutState="COMPLETED" if running >= desired else "IN_PROGRESS",
            failedTasks=d.get("failedTasks", 0) + failed,
            updatedAt=datetime.now(UTC),
        )


def install(patches) -> None:
    """After UpdateService: tasks start at once, or never when the service is set to fail."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.update_service

    def update_service(self, service_properties):
        cluster = service_properties.get("cluster", "default").split("/")[-1]
        name = service_properties.get("service", "").split("/")[-1]
        before = self.services.get(f"{cluster}:{name}")
        running_before = before.running_count if before else 0
        service = original(self, service_properties)
        if getattr(service, "sandbox_tasks_fail_to_start", False):
            missing = max(service.desired_count - running_before, 0)
            _set_counts(service, service.desired_count, min(running_before, service.desired_count), failed=missing)
            service.events.insert(
                0,
                {
                    "id": f"sandbox-{len(service.events)}",
                    "createdAt": datetime.now(UTC),
                    "message": f"(service {name}) was unable to start {missing} task(s): "
                    "CannotPullContainerError: image lecture/backend:latest not found",
                },
            )
        else:
            _set_counts(service, service.desired_count, service.desired_count)
        return service

    patches.set(EC2ContainerServiceBackend, "update_service", update_service)


def snapshot(clients, config) -> dict:
    """The services as the report shows them, by name."""
    ecs, aas = clients("ecs"), clients("application-autoscaling")
    out: dict = {}
    names = [s.name for s in config.ecs.services]
    found = ecs.describe_services(cluster=config.ecs.cluster, services=names).get("services", [])
    targets = {
        t["ResourceId"].split("/")[-1]: t
        for t in aas.describe_scalable_targets(ServiceNamespace="ecs").get("ScalableTargets", [])
    }
    for s in found:
        bounds = config.service(s["serviceName"])
        entry = {"desired": s["desiredCount"], "running": s["runningCount"], "min": bounds.min_tasks, "max": bounds.max_tasks}
        if s["serviceName"] in targets:
            t = targets[s["serviceName"]]
            entry["autoscaling"] = {"min": t["MinCapacity"], "max": t["MaxCapacity"]}
        out[s["serviceName"]] = entry
    for name, window in _windows(clients, config).items():
        if name in out:
            out[name]["maintenance_window"] = window
    return out
