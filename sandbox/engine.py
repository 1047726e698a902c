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
from customers import load_customer
from sandbox import report as report_mod
from sandbox import snapshot
from sandbox import world as world_mod
from sandbox.deploy import Deployment, deployed_state_machines
from sandbox.eventbus import EventBus, alarm_event, parameter_change_event, security_group_event
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
    executing_cloudformation_state_machines,
    fix_change_sets,
    fix_execution_status_race,
    fix_interpreter_account,
    fix_nested_start_execution,
    fix_task_failure_cause,
    fix_template_url_on_loopback,
    public_layers,
    s3_object_lock_from_cloudformation,
    sts_checks_signatures,
    sts_over_https,
)
from sandbox.observe import Observer, StatusUpdates
from sandbox.pagerduty import FakePagerDuty, redirect_official_hosts
from sandbox.recorder import Recorder
from sandbox.stack import announce_deployment, create_secrets, deploy_customer, team_of_key
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
            self.client("events"), self.client("stepfunctions"), self.client("sqs"), lambdas=self.client("lambda")
        )
        self.schedule_rules = [r for r in self.client("events").list_rules().get("Rules", []) if "ScheduleExpression" in r]

    def deployed(self) -> bool:
        cfn = self.client("cloudformation")
        try:
            stack = cfn.describe_stacks(StackName=naming.stack_name(self.customer))["Stacks"][0]
        except cfn.exceptions.ClientError:
            return False
        return stack["StackStatus"].endswith("_COMPLETE") and not stack["StackStatus"].startswith("DELETE")


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
        return {name: arn for t in self.tenants.values() for name, arn in t.state_machines().items()}

    def _client_of_arn(self, arn: str):
        account = arn.split(":")[4]
        tenant = self.tenant_of_account(account)
        return tenant.client if tenant else self.aws.clients_for(account)

    def start(self) -> None:
        self.aws.start()
        self._started = True
        patches = self.aws.patches
        try:
            self.pagerduty = FakePagerDuty().start()
            redirect_official_hosts(patches, self.pagerduty)  # the stack pages PagerDuty's own hosts only
            self.recorder = Recorder(
                {naming.table_name(c) for c in self.customers}, before_after=self._before_after, customer_of=customer_of_function
            )
            self.observer = Observer(
                self.timeline,
                self.recorder,
                self.pagerduty,
                self.executions_log,
                updates=lambda: [t.updates for t in self.tenants.values() if t.updates],
            )
            self.lambdas = InProcessLambda(self.workdir, on_invoke=self.observer.on_invoke, credentials=self.aws.role_credentials)
            self.waiter = Waiter(self.executions_log, self.lambdas, self.clock)
            self.lambdas.install(patches)
            self.clock.install(patches)
            self.executions_log.install(patches)
            fix_nested_start_execution(patches)
            fix_execution_status_race(patches)
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
            cloudtrail_parameter_changes(patches, self._on_parameter_change)
            cloudtrail_security_group_changes(patches, self._on_security_group_change)
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
            extra = snapshot.put_back(self.deployed)
            self.aws.adopt_keys(extra["keys"])
            for tenant in self.tenants.values():
                tenant.deployment = extra["deployments"][tenant.customer]
                announce_deployment(self.timeline, tenant.deployment)
                tenant.attach()
            return
        for tenant in self.tenants.values():
            create_secrets(tenant.client, tenant.config)
            if self.deploy_at_start:
                tenant.deployment = deploy_customer(
                    tenant.client, tenant.customer, tenant.config, self.assembly, self.workdir, self.timeline
                )
                tenant.attach()
        if self.keep_deployed:
            self.deployed_snapshot = snapshot.take(
                keys=self.aws.account_keys(), deployments={c: t.deployment for c, t in self.tenants.items()}
            )

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
        return {k for t in self.tenants.values() for k in team_of_key(t.config)}

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
