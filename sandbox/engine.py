"""The sandbox engine: start an offline AWS, deploy the synthesized stacks, build the worlds, run steps.

One engine for ``run`` (scenario files), ``cli`` and ``serve`` (the live endpoint, sandbox/serve.py). Every customer
lives in its own account, all at once (``Sandbox(["dhbw", "edt"])``); ``Sandbox("dhbw")`` holds one, and its
``config``, ``client``, ``deployment``, ``report()`` are the first customer's.

``Sandbox`` only wires objects that each do one job:
- ``OfflineAws`` (lifecycle.py): moto, the environment, the patches, the accounts and the sandbox's own clients;
- ``deploy_customer`` (stack.py): the synthesized stack into moto;
- ``Driver`` (steps.py): mode switch, alarms, event delivery, manual starts, one per customer;
- ``Observer`` (observe.py): the timeline feed; ``StatusUpdates`` reads a customer's status topic;
- ``ExecutionLog`` / ``Waiter`` (executions.py): executions in a deterministic order; waiting;
- ``report.build`` (report.py): the report.
"""

import tempfile
import threading
from datetime import UTC
from pathlib import Path

from botocore.exceptions import ClientError

from catalog import naming
from customers import load_customer, load_ops
from sandbox import report as report_mod
from sandbox import snapshot
from sandbox import world as world_mod
from sandbox.deploy import Deployment, deployed_state_machines
from sandbox.eventbus import EventBus, alarm_event, ecs_task_stopped_event, parameter_change_event, security_group_event
from sandbox.executions import TERMINAL, ExecutionLog, Waiter
from sandbox.lifecycle import OfflineAws
from sandbox.moto_gaps import (
    ALARM_EVENTS,
    CompressedClock,
    InProcessLambda,
    alarm_state_changes,
    atomic_dynamodb,
    cloudtrail_parameter_changes,
    cloudtrail_security_group_changes,
    current_function,
    ecs_task_stops,
    event_bus_ref_is_its_name,
    executing_cloudformation_state_machines,
    fix_change_sets,
    fix_execution_status_race,
    fix_interpreter_account,
    fix_nested_start_execution,
    fix_task_failure_cause,
    fix_template_url_on_loopback,
    json_templates_read_as_json,
    parse_each_definition_once,
    public_layers,
    put_events_delivered,
    s3_object_lock_from_cloudformation,
    sts_checks_signatures,
    sts_over_https,
    unnamed_executions_get_a_uuid,
)
from sandbox.observe import Observer, StatusUpdates
from sandbox.pagerduty import FakePagerDuty, redirect_official_hosts
from sandbox.recorder import Recorder
from sandbox.stack import (
    announce_deployment,
    create_ops_secret,
    create_secrets,
    deploy_customer,
    deploy_ops,
    routing_key,
    team_of_key,
)
from sandbox.steps import Driver
from sandbox.synth import ROOT
from sandbox.timeline import Timeline

__all__ = ["Sandbox", "TERMINAL", "default_assembly_dir", "customer_of_function"]


def customer_of_function(function: str | None) -> str | None:
    """lecture-<c>-remediation-<component> -> <c>."""
    if not function or "-remediation-" not in function:
        return None
    return function.split("-remediation-", 1)[0].removeprefix(naming.PREFIX + "-")


class Tenant:
    """One customer in its own account: its config, its clients, its driver, its deployment."""

    def __init__(self, sandbox: "Sandbox", customer: str, world, mode: str | None):
        self.customer = customer
        self.config = load_customer(customer)
        self.world = world or world_mod.World()
        self.mode = mode
        self.client = sandbox.aws.clients_for(self.config.account, self.config.region)
        self.deployment: Deployment | None = None
        self.updates: StatusUpdates | None = None
        self.schedule_rules: list[dict] = []  # the deployed schedule rules (as of the last attach)
        self.forward = sandbox._forward  # a bus target of its rules (the incident events to the ops bus)
        self.driver = Driver(
            customer,
            self.config,
            self.client,
            sandbox.timeline,
            sandbox.wait_all,
            on_step=sandbox._next_step,
            clients_as=lambda user: sandbox.aws.clients_for(self.config.account, self.config.region, user=user),
        )
        self.driver.bus = None

    def state_machines(self) -> dict:
        """name -> ARN of the customer's deployed workflows (as of the last attach)."""
        return self.driver.state_machines

    def attach(self) -> None:
        """The stack is deployed (by the sandbox or by the CDK CLI): read its outputs, subscribe to its topic."""
        stacks = self.client("cloudformation").describe_stacks(StackName=naming.stack_name(self.customer))["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        topic = outputs.get("StatusTopic")
        if topic and (self.updates is None or self.updates.topic_arn != topic):
            self.updates = StatusUpdates(self.client, topic)
        self.driver.state_machines = deployed_state_machines(self.client, self.customer)
        self.driver.bus = EventBus(
            self.client("events"),
            self.client("stepfunctions"),
            self.client("sqs"),
            forward=self.forward,
            lambdas=self.client("lambda"),
        )
        self.schedule_rules = [r for r in self.client("events").list_rules().get("Rules", []) if "ScheduleExpression" in r]

    def deployed(self) -> bool:
        cfn = self.client("cloudformation")
        try:
            stack = cfn.describe_stacks(StackName=naming.stack_name(self.customer))["Stacks"][0]
        except cfn.exceptions.ClientError:
            return False
        return stack["StackStatus"].endswith("_COMPLETE") and not stack["StackStatus"].startswith("DELETE")


class OpsTenant:
    """The ops account (customers/ops.yaml): its incident bus, its correlate workflow, its fleet table."""

    def __init__(self, sandbox: "Sandbox"):
        self.config = load_ops()
        self.client = sandbox.aws.clients_for(self.config.account, self.config.region)
        self.deployment: Deployment | None = None
        self.bus: EventBus | None = None
        self.machines: dict = {}
        self.updates: StatusUpdates | None = None

    def state_machines(self) -> dict:
        return self.machines

    def deployed(self) -> bool:
        cfn = self.client("cloudformation")
        try:
            stack = cfn.describe_stacks(StackName=naming.ops_stack_name())["Stacks"][0]
        except cfn.exceptions.ClientError:
            return False
        return stack["StackStatus"].endswith("_COMPLETE") and not stack["StackStatus"].startswith("DELETE")

    def attach(self, forward) -> None:
        c = self.client
        self.machines = deployed_state_machines(c, naming.OPS)
        self.bus = EventBus(c("events"), c("stepfunctions"), c("sqs"), name=naming.ops_bus_name(), forward=forward)
        stacks = c("cloudformation").describe_stacks(StackName=naming.ops_stack_name())["Stacks"]
        topic = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}.get("StatusTopic")
        if topic and self.updates is None:
            self.updates = StatusUpdates(c, topic)

    def fleet(self) -> list[dict]:
        """The fleet table, plain (its rows as correlate wrote them), sorted by key."""
        ddb, rows, kwargs = self.client("dynamodb"), [], {"TableName": naming.ops_table_name()}
        while True:
            resp = ddb.scan(**kwargs)
            rows += resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        plain = [{k: _plain(v) for k, v in r.items()} for r in rows]
        return sorted(plain, key=lambda r: (r["pk"], r["sk"]))


def _plain(value: dict):
    kind, v = next(iter(value.items()))
    if kind == "N":
        return int(v) if v.lstrip("-").isdigit() else float(v)
    if kind == "L":
        return [_plain(x) for x in v]
    if kind == "M":
        return {k: _plain(x) for k, x in v.items()}
    if kind in ("SS", "NS"):
        return sorted(v)
    return v


class Sandbox:
    def __init__(
        self,
        customer: "str | list[str]",
        *,
        assembly: Path | None = None,
        workdir: Path | None = None,
        mode: str | None = None,
        world: world_mod.World | None = None,
        time_factor: float = 0.0,
        timeout_seconds: float = 600.0,
        worlds: dict | None = None,
        deploy: bool = True,
        live: bool = False,
        deployed: "snapshot.Snapshot | None" = None,
        keep_deployed: bool = False,
        ops: bool = False,
    ):
        self.customers = [customer] if isinstance(customer, str) else list(customer)
        if not self.customers:
            raise ValueError("a sandbox needs at least one customer")
        self.customer = self.customers[0]
        self.assembly = assembly
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="sandbox-"))
        self.mode = mode
        self.clock = CompressedClock(time_factor)
        self.timeout_seconds = timeout_seconds
        self.timeline = Timeline()
        self.live = live  # a long-running endpoint: waits run on the sandbox's clock, not the scenario's steps
        self.deploy_at_start = deploy
        self.deployed = deployed  # the stacks as deployed before (deployed_snapshot), put back instead of deploying
        self.keep_deployed = keep_deployed  # keep the deployed stacks (deployed_snapshot) before the worlds are built
        self.deployed_snapshot: snapshot.Snapshot | None = None
        self.aws = OfflineAws(load_customer(self.customer).region)
        worlds = dict(worlds or {})
        if world is not None:
            worlds.setdefault(self.customer, world)
        self.tenants = {c: Tenant(self, c, worlds.get(c), mode) for c in self.customers}
        self.ops = OpsTenant(self) if ops else None  # the ops account (issue 16), with its stack
        primary = self.tenants[self.customer]
        self.config, self.world, self.client, self.driver = primary.config, primary.world, primary.client, primary.driver
        self.executions_log = ExecutionLog(self._client_of_arn, self._all_state_machines)
        self._started = False
        self._lock = threading.RLock()

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def deployment(self) -> Deployment | None:
        return self.tenants[self.customer].deployment

    def tenant(self, customer: str | None = None) -> Tenant:
        customer = customer or self.customer
        if customer not in self.tenants:
            raise ValueError(f"customer {customer!r} is not in this sandbox; it holds {', '.join(self.tenants)}")
        return self.tenants[customer]

    def tenant_of_account(self, account: str) -> Tenant | None:
        return next((t for t in self.tenants.values() if t.config.account == account), None)

    def _all_state_machines(self) -> dict:
        machines = {name: arn for t in self.tenants.values() for name, arn in t.state_machines().items()}
        return {**machines, **(self.ops.state_machines() if self.ops else {})}

    def _client_of_arn(self, arn: str):
        account = arn.split(":")[4]
        tenant = self.tenant_of_account(account)
        if tenant is None and self.ops and account == self.ops.config.account:
            return self.ops.client
        return tenant.client if tenant else self.aws.clients_for(account)

    def _bus_of(self, account: str, name: str) -> EventBus | None:
        if self.ops and account == self.ops.config.account:
            return self.ops.bus if name == naming.ops_bus_name() else None
        tenant = self.tenant_of_account(account)
        bus = tenant.driver.bus if tenant else None
        return bus if bus is not None and bus.name == name else None

    def _forward(self, event: dict, bus_arn: str) -> list[dict]:
        """A cross-account bus target (a customer's incident events to the ops bus): the target bus gets the event."""
        account, name = bus_arn.split(":")[4], bus_arn.rsplit("/", 1)[-1]
        bus = self._bus_of(account, name)
        if bus is None:
            return [{"target": bus_arn, "dead_lettered": None, "error": f"no bus {name} in account {account}"}]
        self.timeline.add("event", f"EventBridge forwards {event.get('detail-type')!r} from {event.get('account')} to {name}", 1)
        return bus.put(event)

    def _on_put_events(self, event: dict, bus: str, account: str, region: str) -> None:
        """An entry put through the API (admit's and record's incident events): the bus delivers it to its rules."""
        target = self._bus_of(account, bus)
        if target is not None:
            target.put(event)

    def start(self) -> None:
        self.aws.start()
        self._started = True
        patches = self.aws.patches
        try:
            self.pagerduty = FakePagerDuty().start()
            redirect_official_hosts(patches, self.pagerduty)  # the stack pages PagerDuty's own hosts only
            self.recorder = Recorder(
                {naming.table_name(c) for c in self.customers} | ({naming.ops_table_name()} if self.ops else set()),
                before_after=self._before_after,
                customer_of=customer_of_function,
            )
            self.observer = Observer(
                self.timeline,
                self.recorder,
                self.pagerduty,
                self.executions_log,
                updates=lambda: (
                    [t.updates for t in self.tenants.values() if t.updates]
                    + ([self.ops.updates] if self.ops and self.ops.updates else [])
                ),
            )
            self.lambdas = InProcessLambda(self.workdir, on_invoke=self.observer.on_invoke, credentials=self.aws.role_credentials)
            self.waiter = Waiter(self.executions_log, self.lambdas, self.clock)
            self.lambdas.install(patches)
            self.clock.install(patches)
            self.executions_log.install(patches)
            fix_nested_start_execution(patches)
            unnamed_executions_get_a_uuid(patches)
            fix_execution_status_race(patches)
            parse_each_definition_once(patches)
            json_templates_read_as_json(patches)
            fix_task_failure_cause(patches)
            fix_interpreter_account(patches, self.aws.keys)
            executing_cloudformation_state_machines(patches)
            fix_template_url_on_loopback(patches)
            fix_change_sets(patches)
            public_layers(patches)
            s3_object_lock_from_cloudformation(patches)
            sts_checks_signatures(patches)
            sts_over_https(patches)
            alarm_state_changes(patches, self._on_alarm_change)
            put_events_delivered(patches, self._on_put_events)
            event_bus_ref_is_its_name(patches)
            cloudtrail_parameter_changes(patches, self._on_parameter_change)
            cloudtrail_security_group_changes(patches, self._on_security_group_change)
            ecs_task_stops(patches, self._on_task_stopped)
            atomic_dynamodb(patches)  # invocations run concurrently: keep each request atomic, as DynamoDB does
            world_mod.install(patches)
            self.recorder.install()
            self._deploy()
            for tenant in self.tenants.values():
                self._prepare(tenant)
        except BaseException:
            self.stop()  # leave moto and the process as they were
            raise

    def stop(self) -> None:
        if not self._started:
            return
        if not self.live:  # the live endpoint stops as it is: what still waits stays unanswered (threads are daemons)
            self.clock.release()  # the scenario is over: parked waits resume (their time has come)
            self.clock.expire_callbacks()
            try:  # let executions still in flight finish, so no thread outlives the mock it runs on
                self.waiter.wait_idle(min(self.timeout_seconds, 30.0))
            except (TimeoutError, AttributeError):
                pass
        if getattr(self, "recorder", None):
            self.recorder.uninstall()
        if getattr(self, "pagerduty", None):
            self.pagerduty.stop()
        self.aws.stop()
        self._started = False

    def _deploy(self) -> None:
        """Every customer's account as an operator has it before the world: the PagerDuty secrets, then the stack
        (unless the CDK CLI deploys it). A sandbox given the stacks as deployed before puts them back instead (the
        same accounts, stacks and keys: a test suite deploys once, sandbox/snapshot.py)."""
        if self.deployed is not None:
            if set(self.deployed.extra["deployments"]) != set(self.tenants):
                raise ValueError(
                    f"the deployed snapshot holds {', '.join(self.deployed.extra['deployments'])}, not {', '.join(self.tenants)}"
                )
            if (self.ops is not None) != (self.deployed.extra.get("ops") is not None):
                raise ValueError("the deployed snapshot and this sandbox differ in the ops account (Sandbox(..., ops=...))")
            extra = snapshot.put_back(self.deployed)
            self.aws.adopt_keys(extra["keys"])
            if self.ops is not None:
                self.ops.deployment = extra["ops"]
                announce_deployment(self.timeline, self.ops.deployment)
                self.ops.attach(self._forward)
            for tenant in self.tenants.values():
                tenant.deployment = extra["deployments"][tenant.customer]
                announce_deployment(self.timeline, tenant.deployment)
                tenant.attach()
            return
        if self.ops is not None:  # first: the customers' forwarding rules name its bus
            create_ops_secret(self.ops.client, self.ops.config)
            if self.deploy_at_start:
                self.deploy_ops()
        for tenant in self.tenants.values():
            create_secrets(tenant.client, tenant.config)
            if self.deploy_at_start:
                tenant.deployment = deploy_customer(
                    tenant.client, tenant.customer, tenant.config, self.assembly, self.workdir, self.timeline
                )
                tenant.attach()
        if self.keep_deployed:
            self.deployed_snapshot = snapshot.take(
                keys=self.aws.account_keys(),
                deployments={c: t.deployment for c, t in self.tenants.items()},
                ops=self.ops.deployment if self.ops else None,
            )

    def deploy_ops(self) -> None:
        """The ops stack into the ops account (from the assembly when it holds it), then wired."""
        if self.ops is None:
            raise ValueError("this sandbox has no ops account (Sandbox(..., ops=True))")
        self.ops.deployment = deploy_ops(self.ops.client, self.ops.config, self.assembly, self.workdir, self.timeline)
        self.ops.attach(self._forward)

    def _prepare(self, tenant: Tenant) -> None:
        """The customer's world, and the mode the scenario starts in."""
        if tenant.deployment is not None and tenant.mode:
            tenant.driver.set_mode(tenant.mode, announce=False)
        world_mod.build(tenant.client, tenant.config, tenant.world, tenant.config.account, tenant.config.region)
        if tenant.customer == self.customer:
            self._script_pagerduty(tenant.world)

    def _script_pagerduty(self, world) -> None:
        if world.pagerduty and world.pagerduty.responses:
            self.pagerduty.script(world.pagerduty.responses)
            self.timeline.add("world", f"PagerDuty answers the next requests with {world.pagerduty.responses}")
        if world.pagerduty and world.pagerduty.failures:
            self.pagerduty.fail_next(world.pagerduty.fail_status, world.pagerduty.failures)
            self.timeline.add(
                "world", f"PagerDuty answers {world.pagerduty.fail_status} to the next {world.pagerduty.failures} requests"
            )

    def refresh(self) -> None:
        """Pick up stacks deployed, changed or destroyed since (by the CDK CLI): state machines, topics, rules."""
        for tenant in self.tenants.values():
            if tenant.deployed():
                tenant.attach()
            else:
                tenant.driver.bus, tenant.driver.state_machines, tenant.schedule_rules = None, {}, []
        if self.ops is not None:  # the ops stack, deployed by the CDK CLI (-c customer=ops --profile lecture-ops)
            if self.ops.deployed():
                self.ops.attach(self._forward)
            else:
                self.ops.bus, self.ops.machines = None, {}

    def _on_alarm_change(self, alarm, previous: str, account: str, region: str) -> None:
        """An alarm changed state through the API (the AWS CLI's set-alarm-state): CloudWatch tells EventBridge."""
        tenant = self.tenant_of_account(account)
        if tenant is None:
            return
        described = {
            "AlarmName": alarm.name,
            "AlarmArn": alarm.alarm_arn,
            "Namespace": alarm.namespace,
            "MetricName": alarm.metric_name,
            "Period": alarm.period,
            "Statistic": alarm.statistic,
            "AlarmDescription": alarm.description,
            "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
        }
        stamp = alarm.state_updated_timestamp  # the state's time, as CloudWatch stamps its event
        event = alarm_event(
            described,
            alarm.state_value,
            previous,
            alarm.state_reason,
            account,
            region,
            at=stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC),
        )
        self.timeline.add("alarm", f"[{tenant.customer}] alarm {alarm.name}: {previous} -> {alarm.state_value}")

        def deliver() -> None:
            if tenant.driver.bus is None:
                self.refresh()
            if tenant.driver.bus is not None:
                tenant.driver.deliver(event, wait=False)

        threading.Thread(target=deliver, daemon=True, name=f"deliver-{alarm.name}").start()

    def _on_parameter_change(self, name: str, caller: str, account: str, region: str) -> None:
        """A parameter put through the API (the mode switch set with the AWS CLI): CloudTrail tells EventBridge."""
        tenant = self.tenant_of_account(account)
        if tenant is None or tenant.driver.bus is None:
            return
        self.timeline.add("mode", f"[{tenant.customer}] {caller} puts {name}")
        event = parameter_change_event(name, caller, account, region)
        threading.Thread(target=tenant.driver.deliver, args=(event,), kwargs={"wait": False}, daemon=True).start()

    def _on_security_group_change(
        self, event_name: str, group: str, permissions: list, caller: str, account: str, region: str, request: dict
    ) -> None:
        """A security group changed through the API (the AWS CLI, the console): CloudTrail tells EventBridge. The
        sandbox's own world building makes no such call (moto's backend directly)."""
        tenant = self.tenant_of_account(account)
        if tenant is None or tenant.driver.bus is None or not self.live:
            return
        self.timeline.add("security", f"[{tenant.customer}] {caller}: {event_name} {group}")
        event = security_group_event(
            event_name,
            group,
            caller,
            account,
            region,
            permissions=permissions or None,
            group_name=request.get("group_name"),
            vpc_id=request.get("vpc_id"),
        )
        threading.Thread(target=tenant.driver.deliver, args=(event,), kwargs={"wait": False}, daemon=True).start()

    def _on_task_stopped(self, task: dict, account: str, region: str) -> None:
        """A task stopped through the API (`aws ecs stop-task`): ECS tells EventBridge (live sandbox only; game days
        deliver their own with the stop_tasks step)."""
        tenant = self.tenant_of_account(account)
        if tenant is None or tenant.driver.bus is None or not self.live:
            return
        self.timeline.add(
            "ecs", f"[{tenant.customer}] task {task['taskArn'].rsplit('/', 1)[-1]} stopped: {task['stoppedReason']}"
        )
        event = ecs_task_stopped_event(task, account, region, stop_code="UserInitiated")
        threading.Thread(target=tenant.driver.deliver, args=(event,), kwargs={"wait": False}, daemon=True).start()

    # --- the world ---------------------------------------------------------------------------
    def set_mode(self, mode: str, customer: str | None = None) -> None:
        self.tenant(customer).driver.set_mode(mode)

    def world_snapshot(self, customer: str | None = None) -> dict:
        tenant = self.tenant(customer)
        return world_mod.snapshot(tenant.client, tenant.config)

    def _before_after(self, customer: str | None, service: str, operation: str, params: dict):
        tenant = self.tenants.get(customer or self.customer)
        if tenant is None:
            return None
        return world_mod.before_after(tenant.client, tenant.config, service, operation, params)

    # --- steps ---------------------------------------------------------------------------------
    def fire_alarm(
        self, name: str, state: str = "ALARM", deliveries: int = 1, reason: str | None = None, customer: str | None = None
    ) -> list:
        return self.tenant(customer).driver.fire_alarm(name, state, deliveries, reason)

    def fire_schedule(self, runbook: str, deliveries: int = 1, customer: str | None = None) -> list:
        return self.tenant(customer).driver.fire_schedule(runbook, deliveries)

    def deliver(self, event: dict, deliveries: int = 1, customer: str | None = None, forged: bool = False) -> list:
        """Deliver a raw event. An alarm event is a state change that happened (the alarm is put in its state)
        unless ``forged``: then the alarm stays as it is, and admit does not confirm the event."""
        driver = self.tenant(customer).driver
        if not forged:
            driver.alarm_happened(event)
        return driver.deliver(event, deliveries)

    def stop_tasks(
        self,
        service: str,
        count: int = 1,
        reason: str | None = None,
        stop_code: str | None = None,
        deliveries: int = 1,
        customer: str | None = None,
    ) -> list:
        driver = self.tenant(customer).driver
        return driver.stop_tasks(service, count, reason or "Essential container in task exited", stop_code, deliveries)

    def service_action(
        self,
        service: str,
        event_name: str = "SERVICE_TASK_START_IMPAIRED",
        event_type: str | None = None,
        reason: str | None = None,
        deliveries: int = 1,
        customer: str | None = None,
    ) -> list:
        return self.tenant(customer).driver.service_action(service, event_name, event_type, reason, deliveries)

    def rds_event(self, event_id: str, message: str | None = None, deliveries: int = 1, customer: str | None = None) -> list:
        return self.tenant(customer).driver.rds_event(event_id, message, deliveries)

    def start_runbook(self, runbook: str, payload, customer: str | None = None) -> str:
        return self.tenant(customer).driver.start_runbook(runbook, payload)

    def answer_approval(
        self, runbook: str, *, approve: bool, by: str | None = None, comment: str = "", customer: str | None = None
    ) -> dict:
        return self.tenant(customer).driver.answer_approval(runbook, approve=approve, by=by, comment=comment)

    def wait_minutes(self, minutes: float) -> None:
        self.driver.wait_minutes(minutes, self.clock)

    def _next_step(self) -> None:
        self.clock.step += 1

    def wait_all(self) -> None:
        """Until no execution is running (children included), then bring the timeline up to date. Waits parked
        during an earlier step resume now, after this step (see CompressedClock), and are waited for too."""
        self.waiter.wait_idle(self.timeout_seconds)
        while self.clock.release(before=self.clock.step):
            self.waiter.wait_idle(self.timeout_seconds)
        self.observer.catch_up()

    def finish(self) -> None:
        """The scenario is over: parked waits resume, waits for an answer nobody gave time out (as in AWS), and
        everything they start runs to its end."""
        self.clock.release()
        if self.clock.expire_callbacks():
            self.timeline.add("clock", "the scenario is over: approvals nobody answered time out")
        self.wait_all()

    # --- observing -------------------------------------------------------------------------------
    @property
    def notifications(self) -> list[dict]:
        updates = self.tenants[self.customer].updates
        return updates.received if updates else []

    def executions(self, customer: str | None = None) -> list[dict]:
        """Every execution of the customer's workflows, in the order they started; ties in the order the sandbox
        saw them start."""
        return self.executions_log.all(self.tenant(customer).state_machines())

    def history(self, execution_arn: str) -> list[dict]:
        return self.executions_log.history(execution_arn)

    def report(self) -> dict:
        self.finish()
        return self.customer_report(self.customer)

    def customer_report(self, customer: str) -> dict:
        """What happened in one customer's account so far (the report's format, README "The report")."""
        tenant = self.tenant(customer)
        if tenant.updates:
            tenant.updates.drain()
        teams = team_of_key(tenant.config)
        pages = [
            r
            for r in self.pagerduty.requests
            if not isinstance(r.get("body"), dict)
            or r["body"].get("routing_key") in teams
            or r["body"].get("routing_key") not in self._all_keys()
        ]
        actions = [a for a in self.recorder.actions if a.get("customer") in (customer, None)]
        notifications = tenant.updates.received if tenant.updates else []
        try:
            world = self.world_snapshot(customer)
        except ClientError as exc:  # the live sandbox: a customer whose stack is not deployed (yet)
            world = {"unavailable": f"{naming.stack_name(customer)} is not deployed ({exc})"}
        return report_mod.build(
            customer,
            self.executions(customer),
            actions,
            pages,
            notifications,
            world,
            teams=teams,
            approvals=self.approvals(customer),
        )

    def _all_keys(self) -> set:
        keys = {k for t in self.tenants.values() for k in team_of_key(t.config)}
        return keys | ({routing_key("p0", naming.OPS)} if self.ops else set())

    def p0_pages(self) -> list[dict]:
        """The requests to PagerDuty with the ops account's P0 routing key, in the order sent."""
        key = routing_key("p0", naming.OPS)
        return [r for r in self.pagerduty.requests if isinstance(r.get("body"), dict) and r["body"].get("routing_key") == key]

    def ops_report(self) -> dict:
        """What happened in the ops account: its correlate runs with their outcomes, the P0 pages, the fleet table."""
        if self.ops is None:
            raise ValueError("this sandbox has no ops account (Sandbox(..., ops=True))")
        runs = self.executions_log.all(self.ops.state_machines())
        if self.ops.updates:
            self.ops.updates.drain()
        notifications = self.ops.updates.received if self.ops.updates else []
        return report_mod.ops_section(runs, self.p0_pages(), self.ops.fleet(), notifications)

    def approvals(self, customer: str | None = None) -> list[dict]:
        """Every approval answered or timed out, from the audit trail (rows <time>#approval), in time order."""
        tenant = self.tenant(customer)
        table = naming.table_name(tenant.customer)
        rows, kwargs = (
            [],
            {
                "TableName": table,
                "FilterExpression": "begins_with(pk, :a) AND #s = :step",
                "ExpressionAttributeNames": {"#s": "step"},
                "ExpressionAttributeValues": {":a": {"S": naming.AUDIT_KEY_PREFIX}, ":step": {"S": "approval"}},
            },
        )
        ddb = tenant.client("dynamodb")
        try:
            while True:
                resp = ddb.scan(**kwargs)
                rows += resp.get("Items", [])
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        except ddb.exceptions.ResourceNotFoundException:
            return []  # not deployed
        plain = [{k: next(iter(v.values())) for k, v in r.items()} for r in rows]
        return report_mod.approvals(plain)


def default_assembly_dir() -> Path:
    return ROOT / ".sandbox" / "cdk.out"


__all__ += ["ALARM_EVENTS", "current_function"]
