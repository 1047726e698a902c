"""The sandbox engine: start an offline AWS, deploy the synthesized stack, build the world, run steps."""

import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3

from catalog import naming
from customers import load_customer
from sandbox import world as world_mod
from sandbox.deploy import Deployment, deploy
from sandbox.eventbus import EventBus, alarm_event, parameter_change_event
from sandbox.moto_gaps import CompressedClock, InProcessLambda, Patches, fix_nested_start_execution
from sandbox.pagerduty import FakePagerDuty, redirect_official_hosts
from sandbox.recorder import Recorder
from sandbox.synth import ROOT, synthesize
from sandbox.timeline import Timeline

ROUTING_KEY = "sandbox0routing0key0000000000000"  # 32 characters, like a PagerDuty integration key
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


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
        self._mock = None
        self._env_saved: dict = {}
        self._clients: dict = {}
        self.notifications: list[dict] = []
        # what happened since the last Lambda invocation, shown under it in the timeline
        self._pages_seen = self._actions_seen = 0
        self._pending_pages: list = []
        self._pending_notes: list = []
        self._executions_noted: set = set()

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        from moto import mock_aws

        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_DEFAULT_REGION": self.config.region, "AWS_REGION": self.config.region,
               "MOTO_ACCOUNT_ID": self.config.account}
        self._env_saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                                      "lambda": {"use_docker": False}})
        self._mock.start()
        self.pagerduty = FakePagerDuty().start()
        self.lambdas = InProcessLambda(self.workdir, on_invoke=self._on_invoke)
        self.patches = Patches()
        self.lambdas.install(self.patches)
        self.clock.install(self.patches)
        fix_nested_start_execution(self.patches)
        world_mod.install_ecs_behaviour(self.patches)
        redirect_official_hosts(self.patches, self.pagerduty)  # the stack pages PagerDuty's own hosts only
        self.recorder = Recorder({naming.table_name(self.customer)}, before_after=self._before_after)
        self.recorder.install()
        try:
            self._deploy()
        except BaseException:
            self.stop()  # leave moto and the process as they were
            raise

    def stop(self) -> None:
        try:  # let executions still in flight finish, so no thread outlives the mock it runs on
            self._wait_idle(min(self.timeout_seconds, 30.0))
        except TimeoutError:
            pass
        self.recorder.uninstall()
        self.patches.undo()
        self.pagerduty.stop()
        if self._mock:
            self._mock.stop()
        for k, v in self._env_saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def client(self, service: str):
        """A client of the sandbox itself: its calls are not the automation's actions."""
        if service not in self._clients:
            c = boto3.Session().client(service, region_name=self.config.region)
            c._sandbox_own = True
            self._clients[service] = c
        return self._clients[service]

    def _deploy(self) -> None:
        assembly = self.assembly or synthesize(self.workdir / "cdk.out", self.customer)
        self.client("secretsmanager").create_secret(Name=self.config.paging.pagerduty_secret_name,
                                                    SecretString=ROUTING_KEY)
        self.deployment = deploy(self.client, assembly, naming.stack_name(self.customer), {})
        self.timeline.add("deploy", f"deployed {self.deployment.stack_name}: "
                                    f"{len(self.deployment.resources)} resources, "
                                    f"state machines {', '.join(self.deployment.state_machines)}")
        if self.deployment.skipped_types:
            self.timeline.add("deploy", "moto has no model for " + ", ".join(self.deployment.skipped_types)
                              + ": not deployed (access policies; nothing the sandbox runs depends on them)", 1)
        # Status updates are read back through a real subscription, as an email subscriber would get them.
        sqs = self.client("sqs")
        self._updates_queue = sqs.create_queue(QueueName="sandbox-status-updates")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._updates_queue,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(TopicArn=self.deployment.outputs["StatusTopic"], Protocol="sqs",
                                     Endpoint=queue_arn)
        if self.mode:
            self.set_mode(self.mode)
        world_mod.build(self.client, self.config, self.world, self.config.account, self.config.region)
        if self.world.pagerduty:
            self.pagerduty.fail_next(self.world.pagerduty.fail_status, self.world.pagerduty.failures)
            self.timeline.add("world", f"PagerDuty answers {self.world.pagerduty.fail_status} "
                                       f"to the next {self.world.pagerduty.failures} requests")
        self.bus = EventBus(self.client("events"), self.client("stepfunctions"), self.client("sqs"))

    # --- the world ---------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.client("ssm").put_parameter(Name=naming.mode_parameter_name(self.customer), Value=mode,
                                         Type="String", Overwrite=True)
        self.timeline.add("mode", f"mode switch {naming.mode_parameter_name(self.customer)} = {mode}")
        if getattr(self, "bus", None) is not None:  # a step, not the initial setup: CloudTrail reports the call
            caller = self.client("sts").get_caller_identity()["Arn"]
            self.deliver(parameter_change_event(naming.mode_parameter_name(self.customer), caller,
                                                self.config.account, self.config.region))

    def world_snapshot(self) -> dict:
        return world_mod.snapshot(self.client, self.config)

    def _before_after(self, service: str, operation: str, params: dict):
        if service in ("ecs", "application-autoscaling"):
            name = (params.get("service") or params.get("ResourceId", "")).split("/")[-1]
            return self.world_snapshot()["ecs"].get(name)
        return None

    # --- steps ---------------------------------------------------------------------------------
    def fire_alarm(self, name: str, state: str = "ALARM", deliveries: int = 1, reason: str | None = None) -> list:
        cw = self.client("cloudwatch")
        alarms = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not alarms:
            raise ValueError(f"alarm {name!r} is not deployed; deployed alarms: "
                             f"{', '.join(a['AlarmName'] for a in cw.describe_alarms()['MetricAlarms'])}")
        previous = alarms[0]["StateValue"]
        reason = reason or f"Sandbox: threshold crossed ({state})"
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
        alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        event = alarm_event(alarm, state, previous, reason, self.config.account, self.config.region)
        self.timeline.add("alarm", f"alarm {name}: {previous} -> {state}")
        return self.deliver(event, deliveries)

    def deliver(self, event: dict, deliveries: int = 1) -> list:
        label = event.get("detail-type", "event") if isinstance(event, dict) else "event"
        self.timeline.add("event", f"EventBridge delivers {label!r}" + (f" x{deliveries}" if deliveries > 1 else ""))
        results = []
        threads = [threading.Thread(target=lambda: results.extend(self.bus.put(event))) for _ in range(deliveries)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not results:
            self.timeline.add("event", "no rule matched the event: nothing started", depth=1)
        for r in results:
            if r.get("dead_lettered"):
                self.timeline.add("event", f"could not start {r['target']}: {r['error']}; sent to the DLQ", depth=1)
        self.wait_all()
        return results

    def start_runbook(self, runbook: str, payload) -> str:
        name = naming.state_machine_name(self.customer, runbook)
        if name not in self.deployment.state_machines:
            raise ValueError(f"no runbook {runbook!r}; deployed: {', '.join(self.deployment.state_machines)}")
        self.timeline.add("start", f"operator starts {name} with {json.dumps(payload)}")
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.deployment.state_machines[name], input=json.dumps(payload),
            name=str(uuid.uuid4()))["executionArn"]
        self.wait_all()
        return arn

    def wait_all(self) -> None:
        """Until no execution is running (children included), then bring the timeline up to date."""
        self._wait_idle(self.timeout_seconds)
        self._drain_notifications()
        self._note_finished()

    def _wait_idle(self, timeout: float) -> None:
        if self.deployment is None:
            return
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [e for arn in self.deployment.state_machines.values()
                       for e in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]]
            if not running and self.lambdas.idle():
                return
            time.sleep(0.02)
        raise TimeoutError(f"executions still running after {timeout:.0f} s")

    # --- observing -------------------------------------------------------------------------------
    def _on_invoke(self, function: str, event, result, error, seconds: float) -> None:
        self._drain_pages()
        self._drain_notifications()
        self.timeline.lambda_call(function, event, result, error, seconds)
        self._flush_pending()

    def _drain_pages(self) -> None:
        requests = self.pagerduty.requests
        self._pending_pages = requests[self._pages_seen:]
        self._pages_seen = len(requests)

    def _drain_notifications(self) -> None:
        sqs = self.client("sqs")
        fresh = []
        while True:
            msgs = sqs.receive_message(QueueUrl=self._updates_queue, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                body = json.loads(m["Body"])
                fresh.append({"topic": body.get("TopicArn"), "subject": body.get("Subject"),
                              "message": body.get("Message")})
                sqs.delete_message(QueueUrl=self._updates_queue, ReceiptHandle=m["ReceiptHandle"])
        self.notifications.extend(fresh)
        self._pending_notes += fresh

    def _flush_pending(self) -> None:
        for action in self._unreported_actions():
            self.timeline.action(action)
        for req in self._pending_pages:
            self.timeline.page(req)
        for note in self._pending_notes:
            self.timeline.notification(note)
        self._pending_pages, self._pending_notes = [], []

    def _unreported_actions(self) -> list:
        fresh = self.recorder.actions[self._actions_seen:]
        self._actions_seen = len(self.recorder.actions)
        return fresh

    def executions(self) -> list[dict]:
        sfn = self.client("stepfunctions")
        out = []
        for name, arn in self.deployment.state_machines.items():
            for e in sfn.list_executions(stateMachineArn=arn)["executions"]:
                d = sfn.describe_execution(executionArn=e["executionArn"])
                out.append({
                    "state_machine": name, "name": e["name"], "status": d["status"],
                    "input": _json(d.get("input")), "output": _json(d.get("output")),
                    "error": d.get("error"), "cause": d.get("cause"), "arn": d["executionArn"],
                    "started": e["startDate"].isoformat(),
                })
        return sorted(out, key=lambda e: e["started"])

    def history(self, execution_arn: str) -> list[dict]:
        sfn = self.client("stepfunctions")
        events, token = [], None
        while True:
            kw = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kw["nextToken"] = token
            resp = sfn.get_execution_history(**kw)
            events.extend(resp["events"])
            token = resp.get("nextToken")
            if not token:
                return events

    def _note_finished(self) -> None:
        for e in self.executions():
            if e["status"] in TERMINAL and e["arn"] not in self._executions_noted:
                self._executions_noted.add(e["arn"])
                self.timeline.execution(e)

    def report(self) -> dict:
        self._drain_notifications()
        return {
            "customer": self.customer,
            "executions": [{k: v for k, v in e.items() if k not in ("arn", "started")} for e in self.executions()],
            "actions": [{k: a[k] for k in ("service", "operation", "params")} | (
                {"error": a["error"]} if "error" in a else {}) for a in self.recorder.actions],
            "pages": [r["body"] for r in self.pagerduty.requests],
            "notifications": self.notifications,
            "world": self.world_snapshot(),
        }


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def default_assembly_dir() -> Path:
    return ROOT / ".sandbox" / "cdk.out"
