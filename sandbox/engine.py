"""The sandbox engine: start an offline AWS, deploy the synthesized stack, build the world, run steps.

``Sandbox`` only wires objects that each do one job:
- ``OfflineAws`` (lifecycle.py): moto, the environment, the patches, the sandbox's own clients;
- ``deploy_customer`` (stack.py): the synthesized stack into moto;
- ``Driver`` (steps.py): mode switch, alarms, event delivery, manual starts;
- ``Observer`` (observe.py): the timeline feed; ``StatusUpdates`` reads the status topic;
- ``ExecutionLog`` / ``Waiter`` (executions.py): executions in a deterministic order; waiting;
- ``report.build`` (report.py): the report.
"""

import tempfile
from pathlib import Path

from catalog import naming
from customers import load_customer
from sandbox import report as report_mod
from sandbox import world as world_mod
from sandbox.deploy import Deployment
from sandbox.eventbus import EventBus
from sandbox.executions import TERMINAL, ExecutionLog, Waiter
from sandbox.lifecycle import OfflineAws
from sandbox.moto_gaps import (
    CompressedClock,
    InProcessLambda,
    atomic_dynamodb,
    fix_execution_status_race,
    fix_nested_start_execution,
    fix_task_failure_cause,
)
from sandbox.observe import Observer, StatusUpdates
from sandbox.pagerduty import FakePagerDuty, redirect_official_hosts
from sandbox.recorder import Recorder
from sandbox.stack import ROUTING_KEY, deploy_customer, team_of_key
from sandbox.steps import Driver
from sandbox.synth import ROOT
from sandbox.timeline import Timeline

__all__ = ["Sandbox", "ROUTING_KEY", "TERMINAL", "default_assembly_dir"]


class Sandbox:
    def __init__(self, customer: str, *, assembly: Path | None = None, workdir: Path | None = None,
                 mode: str | None = None, world: world_mod.World | None = None, time_factor: float = 0.0,
                 timeout_seconds: float = 600.0):
        self.config = load_customer(customer)
        self.customer = customer
        self.assembly = assembly
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="sandbox-"))
        self.mode = mode
        self.world = world or world_mod.World()
        self.clock = CompressedClock(time_factor)
        self.timeout_seconds = timeout_seconds
        self.timeline = Timeline()
        self.deployment: Deployment | None = None
        self.aws = OfflineAws(self.config.account, self.config.region)
        self.client = self.aws.client
        self.executions_log = ExecutionLog(self.client)
        self.driver = Driver(customer, self.config, self.client, self.timeline, self.wait_all,
                             on_step=self._next_step)
        self._started = False

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.aws.start()
        self._started = True
        patches = self.aws.patches
        self.pagerduty = FakePagerDuty().start()
        redirect_official_hosts(patches, self.pagerduty)  # the stack pages PagerDuty's own hosts only
        self.recorder = Recorder({naming.table_name(self.customer)}, before_after=self._before_after)
        self.observer = Observer(self.timeline, self.recorder, self.pagerduty, self.executions_log)
        self.lambdas = InProcessLambda(self.workdir, on_invoke=self.observer.on_invoke)
        self.waiter = Waiter(self.executions_log, self.lambdas, self.clock)
        self.lambdas.install(patches)
        self.clock.install(patches)
        self.executions_log.install(patches)
        fix_nested_start_execution(patches)
        fix_execution_status_race(patches)
        fix_task_failure_cause(patches)
        atomic_dynamodb(patches)  # invocations run concurrently: keep each request atomic, as DynamoDB does
        world_mod.install(patches)
        self.recorder.install()
        try:
            self._deploy()
        except BaseException:
            self.stop()  # leave moto and the process as they were
            raise

    def stop(self) -> None:
        if not self._started:
            return
        self.clock.release()  # the scenario is over: parked waits resume (their time has come)
        self.clock.expire_callbacks()
        try:  # let executions still in flight finish, so no thread outlives the mock it runs on
            self.waiter.wait_idle(min(self.timeout_seconds, 30.0))
        except TimeoutError:
            pass
        self.recorder.uninstall()
        self.pagerduty.stop()
        self.aws.stop()
        self._started = False

    def _deploy(self) -> None:
        self.deployment = deploy_customer(self.client, self.customer, self.config, self.assembly, self.workdir,
                                          self.timeline)
        self.executions_log.state_machines = self.driver.state_machines = self.deployment.state_machines
        self.observer.updates = StatusUpdates(self.client, self.deployment.outputs["StatusTopic"])
        if self.mode:
            self.set_mode(self.mode)
        world_mod.build(self.client, self.config, self.world, self.config.account, self.config.region)
        if self.world.pagerduty and self.world.pagerduty.responses:
            self.pagerduty.script(self.world.pagerduty.responses)
            self.timeline.add("world", f"PagerDuty answers the next requests with {self.world.pagerduty.responses}")
        if self.world.pagerduty and self.world.pagerduty.failures:
            self.pagerduty.fail_next(self.world.pagerduty.fail_status, self.world.pagerduty.failures)
            self.timeline.add("world", f"PagerDuty answers {self.world.pagerduty.fail_status} "
                                       f"to the next {self.world.pagerduty.failures} requests")
        self.driver.bus = EventBus(self.client("events"), self.client("stepfunctions"), self.client("sqs"))

    # --- the world ---------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.driver.set_mode(mode)

    def world_snapshot(self) -> dict:
        return world_mod.snapshot(self.client, self.config)

    def _before_after(self, service: str, operation: str, params: dict):
        return world_mod.before_after(self.client, self.config, service, operation, params)

    # --- steps ---------------------------------------------------------------------------------
    def fire_alarm(self, name: str, state: str = "ALARM", deliveries: int = 1, reason: str | None = None) -> list:
        return self.driver.fire_alarm(name, state, deliveries, reason)

    def fire_schedule(self, runbook: str, deliveries: int = 1) -> list:
        return self.driver.fire_schedule(runbook, deliveries)

    def deliver(self, event: dict, deliveries: int = 1) -> list:
        return self.driver.deliver(event, deliveries)

    def start_runbook(self, runbook: str, payload) -> str:
        return self.driver.start_runbook(runbook, payload)

    def answer_approval(self, runbook: str, *, approve: bool, by: str, comment: str = "") -> dict:
        return self.driver.answer_approval(runbook, approve=approve, by=by, comment=comment)

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
        return self.observer.updates.received if self.observer.updates else []

    def executions(self) -> list[dict]:
        """Every execution, in the order they started; ties in the order the sandbox saw them start."""
        return self.executions_log.all()

    def history(self, execution_arn: str) -> list[dict]:
        return self.executions_log.history(execution_arn)

    def report(self) -> dict:
        self.finish()
        if self.observer.updates:
            self.observer.updates.drain()
        return report_mod.build(self.customer, self.executions(), self.recorder.actions, self.pagerduty.requests,
                                self.notifications, self.world_snapshot(), teams=team_of_key(self.config),
                                approvals=self.approvals())

    def approvals(self) -> list[dict]:
        """Every approval answered or timed out, from the audit trail (rows <time>#approval), in time order."""
        table = naming.table_name(self.customer)
        rows, kwargs = [], {"TableName": table, "FilterExpression": "begins_with(pk, :a) AND #s = :step",
                            "ExpressionAttributeNames": {"#s": "step"},
                            "ExpressionAttributeValues": {":a": {"S": naming.AUDIT_KEY_PREFIX},
                                                          ":step": {"S": "approval"}}}
        ddb = self.client("dynamodb")
        while True:
            resp = ddb.scan(**kwargs)
            rows += resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        plain = [{k: next(iter(v.values())) for k, v in r.items()} for r in rows]
        return report_mod.approvals(plain)


def default_assembly_dir() -> Path:
    return ROOT / ".sandbox" / "cdk.out"
