"""python -m sandbox serve: the offline AWS as a live endpoint that real clients talk to.

moto's own HTTP server (``ThreadedMotoServer``) runs inside the sandbox's process, beside the in-process engine
(sandbox/engine.py), so the CDK CLI, the AWS CLI and ``python cli.py`` reach the same moto that runs the Lambdas,
delivers the events and keeps the clock. Every customer lives in its own account: ``.sandbox/aws-config`` has two
profiles per customer whose keys land in that customer's account: ``lecture-<c>-prod`` (an operator) and
``lecture-<c>-approver`` (a named approver: answer with ``--profile lecture-<c>-approver``).

Control (on the same port):
  GET  /_sandbox/report                      the JSON report of everything so far, one section per customer
  POST /_sandbox/clock?advance_minutes=N     the sandbox's clock moves on N minutes: schedules that come due fire,
                                             approvals and waits whose time has come time out or resume
"""

import contextlib
import faulthandler
import io
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog import naming
from catalog.customer import Mode
from catalog.validation import describe
from customers import CustomerConfigError, has_ops, known_customers, load_customer
from sandbox import schedules
from sandbox.engine import Sandbox, Tenant
from sandbox.eventbus import scheduled_event
from sandbox.lifecycle import APPROVER_USER, OPERATOR_USER
from sandbox.stack import deploy_customer
from sandbox.synth import ROOT, synthesized
from sandbox.world import World
from sandbox.world import check as world_check

DEFAULT_PORT = 4599
CONFIG_DIR = ROOT / ".sandbox"
TICK_SECONDS = 1.0
STACK_CHANGES = ("ExecuteChangeSet", "CreateStack", "UpdateStack", "DeleteStack")  # CloudFormation actions


class ServeError(Exception):
    """Bad input to serve: the message names the problem; nothing is left running."""


class WorldFile(BaseModel):
    """--world FILE: a scenario file (its customer, mode and world; its steps and expect are not run here) or a file
    with just those."""

    model_config = ConfigDict(extra="ignore")
    customer: str
    mode: Mode | None = None
    world: World = Field(default_factory=World)


def load_world(path: Path) -> WorldFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServeError(f"--world {path}: cannot read: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ServeError(f"--world {path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    try:
        world = WorldFile.model_validate(data)
        config = load_customer(world.customer)
    except ValidationError as exc:
        raise ServeError(describe(exc, f"--world {path}")) from None
    except CustomerConfigError as exc:
        raise ServeError(f"--world {path}: {exc}") from None
    try:
        world_check(world.world, config)
    except ValueError as exc:
        raise ServeError(f"--world {path}: {exc}") from None
    return world


def default_world(config) -> World:
    """Each customer's file, plus what the runbooks' example inputs (README, the console inputs) name: the snapshot
    restore-rds-cluster restores, the stale lock force-unlock-state removes, the backup restore-terraform-state
    puts back. Names follow the customer (the examples say dhbw)."""
    from catalog import RUNBOOKS

    def theirs(value: str) -> str:
        return value.replace("dhbw", config.customer)

    snapshot = theirs(RUNBOOKS["restore-rds-cluster"].example_input["snapshot"])
    return World.model_validate(
        {
            "rds": {
                config.rds.cluster: {
                    "snapshots": [{"id": snapshot, "age_days": 1, "tags": {naming.CREATED_BY_TAG: naming.CREATED_BY}}]
                }
            },
            "locks": [
                {
                    "kind": "dynamodb",
                    "age_minutes": 180,
                    "who": "ci@runner-7",
                    "id": RUNBOOKS["force-unlock-state"].example_input["lock_id"],
                }
            ],
            "state": {"serial": 12, "backup": {"serial": 11}},
        }
    )


def parse_customers(text: str | None, flag: str) -> list[str]:
    known = known_customers()
    if text is None:
        return []
    if text == "all":
        return list(known)
    wanted = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in known]
    if unknown or not wanted:
        raise ServeError(f"{flag}: unknown customer {', '.join(unknown) or repr(text)}; known: {', '.join(known)}")
    return wanted


def check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ServeError(f"port {port} on 127.0.0.1 is already in use ({exc.strerror}): give --port") from None


def approver_profile(customer: str) -> str:
    return f"lecture-{customer}-approver"


def aws_config(sb: Sandbox, endpoint: str) -> str:
    """Two profiles per customer, whose keys land in the customer's own account: lecture-<c>-prod (an operator, as
    the runbook names it) and lecture-<c>-approver (a named approver of the customer file)."""
    lines = [
        "# Written by `python -m sandbox serve`: AWS_CONFIG_FILE=$PWD/.sandbox/aws-config is all a client needs.",
        "# Each profile's keys belong to an IAM user of the customer's own account in the sandbox.",
        "",
    ]
    for tenant in sb.tenants.values():
        # an operator (not an approver) and a named approver (approvals.approvers): four eyes can be tried by hand
        for profile, user in (
            (tenant.config.aws_profile, OPERATOR_USER),
            (approver_profile(tenant.config.customer), APPROVER_USER),
        ):
            key = sb.aws.keys(tenant.config.account, user)
            lines += [
                f"# {key['arn']}",
                f"[profile {profile}]",
                f"region = {tenant.config.region}",
                f"endpoint_url = {endpoint}",
                f"aws_access_key_id = {key['id']}",
                f"aws_secret_access_key = {key['secret']}",
                "output = json",
                "",
            ]
    if sb.ops is not None:  # the ops account's operator: status --all reads its fleet table
        key = sb.aws.keys(sb.ops.config.account, OPERATOR_USER)
        lines += [
            f"# {key['arn']}",
            f"[profile {sb.ops.config.aws_profile}]",
            f"region = {sb.ops.config.region}",
            f"endpoint_url = {endpoint}",
            f"aws_access_key_id = {key['id']}",
            f"aws_secret_access_key = {key['secret']}",
            "output = json",
            "",
        ]
    default = sb.tenants[sb.customer]
    key = sb.aws.keys(default.config.account)
    lines += [
        "[default]",
        f"region = {default.config.region}",
        f"endpoint_url = {endpoint}",
        f"aws_access_key_id = {key['id']}",
        f"aws_secret_access_key = {key['secret']}",
        "",
    ]
    return "\n".join(lines)


class LiveServer:
    """moto's server in this process, with the sandbox's control routes in front of it."""

    def __init__(self, sb: Sandbox, port: int, live: "Live"):
        self.sb, self.port, self.live = sb, port, live
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path.startswith("/_sandbox/"):
                return self._control(environ, start_response)
            if "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):  # not a query API (S3, JSON APIs)
                return moto_app(environ, start_response)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            changes_stacks = any(f"Action={a}&".encode() in body + b"&" for a in STACK_CHANGES)
            answered: dict = {}

            def told(status, headers, exc_info=None):
                answered.update(status=status, headers=dict(headers))
                return start_response(status, headers, exc_info)

            # A stack change runs alone: the clock's pick-up of deployed stacks never reads a stack mid-update.
            with self.live.stacks_lock if changes_stacks else contextlib.nullcontext():
                out = b"".join(moto_app(environ, told))
            if body.startswith(b"Action=") and "json" in answered.get("headers", {}).get("Content-Type", ""):
                # a query API (CloudFormation ...) answered in JSON: an error of another service inside it, which
                # a client cannot parse; say which (moto's gap, docs/architecture.md)
                action = body.split(b"&", 1)[0].decode(errors="replace")
                self.sb.timeline.add(
                    "sandbox", f"{action} answered {answered.get('status')} in JSON: {out[:500].decode(errors='replace')}"
                )
            return [out]

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args, **kwargs) -> None:  # the timeline says what happened
                pass

        self._server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto-server")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _control(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            if path == "/_sandbox/report" and method == "GET":
                status, body = "200 OK", self.live.report()
            elif path == "/_sandbox/clock" and method == "POST":
                minutes = float(query.get("advance_minutes", ["0"])[0])
                if not 0 < minutes <= 10080:
                    raise ValueError("advance_minutes must be more than 0 and at most 10080 (a week)")
                status, body = "200 OK", self.live.advance(minutes * 60)
            elif path == "/_sandbox/clock" and method == "GET":
                status, body = "200 OK", self.live.clock_state()
            else:
                status, body = (
                    "404 Not Found",
                    {"error": f"no control route {method} {path}; routes: GET /_sandbox/report, GET|POST /_sandbox/clock"},
                )
        except ValueError as exc:
            status, body = "400 Bad Request", {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - the endpoint stays up and says what went wrong
            import traceback

            status, body = (
                "500 Internal Server Error",
                {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc().splitlines()[-6:]},
            )
        payload = json.dumps(body, indent=2, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


class Live:
    """The sandbox's clock in real time, the schedules on it, and stacks the CDK CLI deploys picked up."""

    def __init__(self, sb: Sandbox):
        self.sb = sb
        self.origin = sb.clock.origin  # one clock: what a Wait until a time is measured against too
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._last_real = time.monotonic()
        self._thread: threading.Thread | None = None
        self._stacks: dict[str, str | None] = {}
        self.stacks_lock = threading.RLock()  # held while a request changes a stack (LiveServer)

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=self.sb.clock.now)

    def clock_state(self) -> dict:
        return {"now": self.now().isoformat(timespec="seconds"), "simulated_seconds": round(self.sb.clock.now, 1)}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-clock")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(TICK_SECONDS):
            ticks += 1
            try:
                with self._lock:  # cheap: the clock, and the schedules that came due on it
                    real = time.monotonic()
                    self._move(real - self._last_real)
                    self._last_real = real
                if ticks % 3 == 0:  # what the CDK CLI deployed, and executions that ended, every few seconds
                    with self.stacks_lock:
                        self._pick_up_stacks()
                        self.sb.observer.catch_up()
            except Exception as exc:  # noqa: BLE001 - the endpoint stays up; the problem is printed
                self.sb.timeline.add("sandbox", f"clock tick failed: {type(exc).__name__}: {exc}")

    def advance(self, seconds: float) -> dict:
        with self._lock:
            before = self.now()
            fired, timed_out = self._move(seconds)
            self.sb.timeline.add(
                "clock",
                f"{seconds / 60:g} simulated minutes pass ({before:%H:%M} -> "
                f"{self.now():%Y-%m-%d %H:%M}Z)"
                + (f": {timed_out} wait(s) for an answer time out" if timed_out else "")
                + (f"; schedules fired: {', '.join(fired)}" if fired else ""),
            )
            return {**self.clock_state(), "schedules_fired": fired, "timed_out": timed_out}

    def _move(self, seconds: float) -> tuple[list[str], int]:
        since = self.now()
        timed_out = self.sb.clock.advance(seconds)
        fired = []
        for tenant in self.sb.tenants.values():
            fired += self._fire_due(tenant, since, self.now())
        return fired, timed_out

    def _fire_due(self, tenant: Tenant, since: datetime, until: datetime) -> list[str]:
        if tenant.driver.bus is None:
            return []
        fired = []
        for rule in tenant.schedule_rules:
            expression = rule.get("ScheduleExpression")
            if not expression or rule.get("State") != "ENABLED":
                continue
            try:
                times = schedules.due(expression, since, until, self.origin)
            except schedules.ScheduleError as exc:
                self.sb.timeline.add("schedule", f"[{tenant.customer}] {rule['Name']}: not scheduled: {exc}")
                continue
            for _ in range(times):
                fired.append(rule["Name"])
                self.sb.timeline.add("schedule", f"[{tenant.customer}] schedule {rule['Name']} fires ({expression})")
                event = scheduled_event(rule["Arn"], tenant.config.account, tenant.config.region, at=until)
                threading.Thread(target=tenant.driver.deliver, args=(event,), kwargs={"wait": False}, daemon=True).start()
        return fired

    def _pick_up_stacks(self) -> None:
        """A stack deployed, updated or destroyed by the CDK CLI: wire its workflows, topic and rules."""
        for tenant in self.sb.tenants.values():
            cfn = tenant.client("cloudformation")
            try:
                stack = cfn.describe_stacks(StackName=naming.stack_name(tenant.customer))["Stacks"][0]
                seen = f"{stack['StackId']} {stack['StackStatus']} {stack.get('LastUpdatedTime', '')}"
            except cfn.exceptions.ClientError:
                seen = None
            if self._stacks.get(tenant.customer, "unseen") == seen:
                continue
            self._stacks[tenant.customer] = seen
            if seen and seen.split()[1].endswith("_COMPLETE") and "DELETE" not in seen:
                tenant.attach()
                self.sb.timeline.add(
                    "deploy",
                    f"[{tenant.customer}] {naming.stack_name(tenant.customer)} is "
                    f"{seen.split()[1]}: {len(tenant.state_machines())} state machines "
                    "live",
                )
            elif not seen or "DELETE_COMPLETE" in seen:
                tenant.driver.bus, tenant.driver.state_machines, tenant.schedule_rules = None, {}, []
        ops = self.sb.ops
        if ops is not None:  # the ops stack (npx cdk deploy -c customer=ops --profile lecture-ops)
            seen_ops = "deployed" if ops.deployed() else None
            if self._stacks.get(naming.OPS, "unseen") != seen_ops:
                self._stacks[naming.OPS] = seen_ops
                if seen_ops:
                    ops.attach(self.sb._forward)
                    self.sb.timeline.add("deploy", f"[ops] {naming.ops_stack_name()} is live")
                else:
                    ops.bus, ops.machines = None, {}

    def report(self) -> dict:
        self.sb.observer.catch_up()
        return {"clock": self.clock_state(), "customers": {c: self.sb.customer_report(c) for c in self.sb.tenants}}


def serve(
    port: int,
    deploy: str | None,
    world_path: str | None,
    workdir: Path | None = None,
    stop_event: threading.Event | None = None,
    config_dir: Path = CONFIG_DIR,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop_event``); returns the exit code."""
    try:
        to_deploy = parse_customers(deploy, "--deploy")
        world = load_world(Path(world_path)) if world_path else None
        check_port(port)
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    customers = list(known_customers())
    tmp = tempfile.TemporaryDirectory(prefix="sandbox-serve-")
    workdir = workdir or Path(tmp.name)
    assembly = synthesized() if to_deploy else None
    worlds = {c: default_world(load_customer(c)) for c in customers}
    if world:
        worlds[world.customer] = world.world
    # the ops account (customers/ops.yaml) is there too, its stack deployed with --deploy all (issue 16)
    sb = Sandbox(customers, assembly=assembly, workdir=workdir, worlds=worlds, deploy=False, live=True, mode=None, ops=has_ops())
    sb.timeline.live = sys.stdout
    sb.timeline.tag_customers = True
    sb.clock.live = True
    started = time.perf_counter()
    stop = stop_event or threading.Event()
    server = live = None
    try:
        sb.start()
        deploy_ops = sb.ops is not None and set(to_deploy) == set(customers)
        if deploy_ops:  # first: the customers' forwarding rules name its bus
            sb.deploy_ops()
        for customer in to_deploy:
            tenant = sb.tenant(customer)
            tenant.deployment = deploy_customer(tenant.client, customer, tenant.config, assembly, workdir, sb.timeline)
            tenant.attach()
        if world and world.mode:
            sb.tenant(world.customer).driver.set_mode(world.mode, announce=False)
        live = Live(sb)
        server = LiveServer(sb, port, live)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "aws-config").write_text(aws_config(sb, endpoint))
        live.start()
        print(f"sandbox ready: {endpoint}", flush=True)
        print(
            f"  customers: {', '.join(f'{c} ({t.config.account})' for c, t in sb.tenants.items())}; deployed: "
            f"{', '.join(to_deploy + (['ops'] if deploy_ops else [])) or 'none (deploy with npx cdk deploy)'}; started in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        print(
            f"  export AWS_CONFIG_FILE={config_dir / 'aws-config'}   # profiles "
            + ", ".join(f"{t.config.aws_profile}, {approver_profile(c)}" for c, t in sb.tenants.items()),
            flush=True,
        )

        def on_signal(signum, frame):
            stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, on_signal)
            signal.signal(signal.SIGTERM, on_signal)
            faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: every thread's stack
        stop.wait()
        print("sandbox stopping", flush=True)
        return 0
    finally:
        if live:
            live.stop()
        if server:
            server.stop()
        sb.stop()
        tmp.cleanup()


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
