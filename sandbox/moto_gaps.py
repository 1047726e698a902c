"""Fill what moto lacks, as found when this was tried (see docs/architecture.md, "sandbox").

- AWS::CloudWatch::Alarm has no CloudFormation model: ``AlarmModel`` creates the alarm through
  moto's CloudWatch backend. It must be defined before the first stack is created.
- Lambda runs only with Docker: ``InProcessLambda`` routes moto's simple Lambda backend to the real
  handler, imported from the deployed code, with the function's environment; invocations run
  concurrently, as in AWS.
- Wait states and Retry intervals really wait: ``CompressedClock`` shortens them, keeping the number
  of attempts and the order of events as deployed.
"""

import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from moto.core.common_models import CloudFormationModel


class Patches:
    """Every change the sandbox makes to moto, undone when the sandbox stops: nothing leaks into
    code that runs after it (other tests using moto directly, for one)."""

    def __init__(self):
        self._saved: list[tuple[object, str, object]] = []
        self._callbacks: list = []

    def set(self, owner, name: str, value) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def on_undo(self, callback) -> None:
        """Call ``callback()`` when the patches are undone (after every attribute is restored)."""
        self._callbacks.append(callback)

    def undo(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            setattr(owner, name, value)
        while self._callbacks:
            self._callbacks.pop()()


class AlarmModel(CloudFormationModel):
    """CloudFormation support for AWS::CloudWatch::Alarm, backed by moto's CloudWatch."""

    __module__ = "moto.cloudwatch.models"  # moto reads the service name from the module path

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=p.get("AlarmName", resource_name),
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)),
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            treat_missing_data=p.get("TreatMissingData"),
            actions_enabled=p.get("ActionsEnabled", True),
        )
        return cls(alarm)

    def __init__(self, alarm):
        self.alarm = alarm
        self.physical_resource_id = alarm.name  # Ref of an alarm is its name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str):
        return self.alarm.alarm_arn


class _OamModel:
    """CloudFormation support for CloudWatch cross-account observability (AWS::Oam::Sink / AWS::Oam::Link), which
    moto lacks (its CloudFormation fails on an output that reads their Arn). Nothing in the sandbox reads metrics
    across accounts: the resource is its ARN (Ref and Fn::GetAtt Arn), as AWS answers them."""

    kind = ""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return cls(f"arn:aws:oam:{region_name}:{account_id}:{cls.kind}/{uuid.uuid4()}", cloudformation_json.get("Properties", {}))

    def __init__(self, arn: str, properties: dict):
        self.arn, self.properties = arn, properties
        self.physical_resource_id = arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Label")

    def get_cfn_attribute(self, attribute_name: str):
        return self.arn if attribute_name == "Arn" else self.properties.get("LabelTemplate", "")


# moto finds the models among CloudFormationModel's direct subclasses
class OamSinkModel(_OamModel, CloudFormationModel):
    __module__ = "moto.cloudwatch.models"  # moto reads the service name from the module path
    kind = "sink"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Oam::Sink"


class OamLinkModel(_OamModel, CloudFormationModel):
    __module__ = "moto.cloudwatch.models"
    kind = "link"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Oam::Link"


class _Context:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, fn, timeout: int):
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = fn.memory_size
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "sandbox"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _LogSink(io.TextIOBase):
    """Where handler output goes: EMF metrics are printed, logs go to Powertools' stream handler."""

    target: io.StringIO = io.StringIO()

    def write(self, text: str) -> int:
        return _LogSink.target.write(text)


LOG_SINK = _LogSink()
_DELETED = object()


class _Invocation(threading.local):
    """What the current thread is running: a function's name and its environment overlay."""

    function: str | None = None
    env: dict | None = None


CURRENT = _Invocation()


def current_function() -> str | None:
    """The Lambda function whose handler runs on this thread, if any."""
    return CURRENT.function


class EnvOverlay(MutableMapping):
    """os.environ seen per thread: inside an invocation, the function's environment over the process's.

    Invocations run concurrently, as in AWS, so a process-wide os.environ cannot hold one function's
    environment; writes inside an invocation stay in its overlay."""

    def __init__(self, base):
        self.base = base

    def _layer(self):
        return CURRENT.env

    def __getitem__(self, key):
        layer = self._layer()
        if layer is not None and key in layer:
            if layer[key] is _DELETED:
                raise KeyError(key)
            return layer[key]
        return self.base[key]

    def __setitem__(self, key, value):
        layer = self._layer()
        if layer is None:
            self.base[key] = value
        else:
            layer[key] = value

    def __delitem__(self, key):
        layer = self._layer()
        if layer is None:
            del self.base[key]
        else:
            self[key]  # KeyError if absent, as os.environ does
            layer[key] = _DELETED

    def _keys(self) -> list:
        layer = self._layer() or {}
        keys = [k for k in self.base if layer.get(k, None) is not _DELETED]
        return keys + [k for k, v in layer.items() if v is not _DELETED and k not in self.base]

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def copy(self) -> dict:
        return dict(self.items())


class _ThreadStdout(io.TextIOBase):
    """sys.stdout that sends what an invocation prints (EMF metrics) to the sink, and the rest on."""

    def __init__(self, fallback):
        self.fallback = fallback

    def write(self, text: str) -> int:
        return (LOG_SINK if CURRENT.function else self.fallback).write(text)

    def flush(self) -> None:
        if not CURRENT.function:
            self.fallback.flush()


def _powertools_logs_to(stream) -> None:
    """Powertools' Logger keeps the stream it saw when the module was imported (maybe by a test
    before the sandbox started); point it at the sandbox's sink for every invocation."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        for handler in getattr(logger, "handlers", []):
            formatter = type(getattr(handler, "formatter", None)).__module__
            if isinstance(handler, logging.StreamHandler) and formatter.startswith("aws_lambda_powertools"):
                handler.setStream(stream)


def _serialise_powertools_metrics(patches: Patches) -> None:
    """In AWS each concurrent invocation has its own process; here they share Powertools' module-level
    metric set, whose flush iterates it while another thread adds to it. Guard it with one lock (an
    EMF line may then carry a concurrent invocation's metric; the totals stay right)."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    lock = threading.RLock()
    for name in ("add_metric", "flush_metrics", "clear_metrics", "serialize_metric_set"):
        original = getattr(AmazonCloudWatchEMFProvider, name)

        def guarded(*args, __original=original, **kwargs):
            with lock:
                return __original(*args, **kwargs)

        patches.set(AmazonCloudWatchEMFProvider, name, guarded)


_SHARED: dict = {}
_SHARED_LOCK = threading.RLock()


def signed_client(factory: str, service: str, key_id: str, secret: str, token: str | None = None, **kwargs):
    """A boto3 client (or resource) signed with these keys, made from one boto3 Session that the whole process
    shares: a new Session reads botocore's service and endpoint data again (about 0.15 s each), which made clients
    the largest cost of a sandbox's start and of each invocation's first call."""
    import boto3

    with _SHARED_LOCK:
        session = _SHARED.get("session")
        if session is None:
            session = _SHARED["session"] = boto3.Session()
            session._sandbox_made = True
        return getattr(session, factory)(
            service, aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token, **kwargs
        )


class _PerInvocation:
    """A boto3 client or resource made inside an invocation and cached by the handler's module (as a warm Lambda
    does): in AWS each function has its own process and credentials; here they share one process, so each call
    goes to a client signed with the credentials of the invocation that makes it."""

    _made: dict = {}
    _lock = threading.Lock()

    def __init__(self, factory, args, kwargs):
        self._factory, self._args, self._kwargs = factory, args, kwargs

    def _real(self):
        env = CURRENT.env or {}
        creds = tuple(env.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"))
        key = (self._factory, self._args, tuple(sorted(self._kwargs.items())), creds)
        with _PerInvocation._lock:
            if key not in _PerInvocation._made:
                if creds[0]:
                    made = signed_client(
                        self._factory, *self._args, key_id=creds[0], secret=creds[1], token=creds[2], **self._kwargs
                    )
                else:
                    import boto3

                    session = boto3.Session()
                    session._sandbox_made = True
                    made = getattr(session, self._factory)(*self._args, **self._kwargs)
                _PerInvocation._made[key] = made
            return _PerInvocation._made[key]

    def __getattr__(self, name):
        return getattr(self._real(), name)


def _per_invocation_boto3(patches: Patches) -> None:
    """Every client or resource a handler makes (boto3.client, a Session's, Powertools' providers') without keys of
    its own follows the invocation that calls it (``_PerInvocation``)."""
    import boto3.session

    for factory in ("client", "resource"):
        original = getattr(boto3.session.Session, factory)

        def made(self, *args, __factory=factory, __original=original, **kwargs):
            if CURRENT.function is None or getattr(self, "_sandbox_made", False) or kwargs.get("aws_access_key_id"):
                return __original(self, *args, **kwargs)
            return _PerInvocation(__factory, args, kwargs)

        patches.set(boto3.session.Session, factory, made)
    _PerInvocation._made = {}
    _forget_warm_clients()
    patches.on_undo(_forget_warm_clients)


def _forget_warm_clients() -> None:
    """A new sandbox starts cold: clients and values that the handlers' modules and Powertools cached before (a
    unit test's, another sandbox's, whose keys and accounts this moto does not know) are forgotten."""
    for module in list(sys.modules.values()):
        for name in ("_client", "_dynamodb"):
            cached = getattr(module, name, None) if getattr(module, "__name__", "") == "lambdas.aws" else None
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    parameters.clear_caches()
    base.DEFAULT_PROVIDERS.clear()


class InProcessLambda:
    """Runs the deployed handler in this process for every Invoke that moto receives.

    Invocations run concurrently, as Lambda runs them: each sees its own function's environment
    (``EnvOverlay``), and what it prints goes to ``logs``."""

    def __init__(self, workdir: Path, on_invoke=None, credentials=None):
        self.workdir = workdir
        self.on_invoke = on_invoke  # callback(function_name, event, result, error, seconds)
        # role ARN -> the role's credentials (env names): each invocation's calls land in its function's account
        self.credentials = credentials
        self.logs = io.StringIO()  # what the handlers printed (Powertools JSON logs and EMF metrics)
        self.invocations: list[dict] = []  # function, started/ended (perf_counter), seconds, error
        self._lock = threading.Lock()  # guards the bookkeeping below, never held while a handler runs
        self._running = 0
        self._code_dirs: set[str] = set()

    def _code_dir(self, fn) -> str:
        sha = fn.code_sha_256.replace("/", "_").replace("+", "-")[:32]
        target = self.workdir / "functions" / sha
        with self._lock:
            if not target.exists():
                target.mkdir(parents=True)
                with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as zf:
                    zf.extractall(target)
            path = str(target)
            if path not in self._code_dirs:
                self._code_dirs.add(path)
                if path not in sys.path:
                    sys.path.insert(0, path)
        return path

    def invoke(self, backend, function_name, qualifier, body, headers, response_headers):
        fn = backend.get_function(function_name, qualifier)
        event = json.loads(body) if body else {}
        with self._lock:
            self._running += 1
        try:
            self._code_dir(fn)
            payload, result, error, started, ended = self._run(fn, event, response_headers)
            seconds = ended - started
            with self._lock:
                self.invocations.append(
                    {"function": fn.function_name, "started": started, "ended": ended, "seconds": seconds, "error": error}
                )
            if self.on_invoke:
                self.on_invoke(fn.function_name, event, result, error, seconds)
        finally:
            with self._lock:
                self._running -= 1
        return payload.encode()

    def _run(self, fn, event, response_headers):
        module_name, _, attr = fn.handler.rpartition(".")
        env = {
            **fn.environment_vars,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "_X_AMZN_TRACE_ID": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
        }
        if self.credentials is not None:
            env.update(self.credentials(fn.role))
        saved = CURRENT.function, CURRENT.env
        CURRENT.function, CURRENT.env = fn.function_name, env
        started = time.perf_counter()
        try:
            handler = getattr(importlib.import_module(module_name), attr)
            _powertools_logs_to(LOG_SINK)
            result = handler(event, _Context(fn, fn.timeout))
            payload, error = json.dumps(result, default=str), None
        except Exception as exc:  # noqa: BLE001 - reported to Step Functions as Lambda does
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__)[-3:],
            }
            response_headers["x-amz-function-error"] = "Unhandled"
            payload, result = json.dumps(error), None
        finally:
            ended = time.perf_counter()
            CURRENT.function, CURRENT.env = saved
        return payload, result, error, started, ended

    def idle(self) -> bool:
        """No invocation in progress."""
        with self._lock:
            return self._running == 0

    def install(self, patches: Patches):
        from moto.awslambda_simple.models import LambdaSimpleBackend

        sandbox = self

        def invoke(self, function_name, qualifier, body, headers, response_headers):
            return sandbox.invoke(self, function_name, qualifier, body, headers, response_headers)

        _LogSink.target = self.logs
        patches.set(LambdaSimpleBackend, "invoke", invoke)
        patches.set(os, "environ", EnvOverlay(os.environ))
        patches.set(sys, "stdout", _ThreadStdout(sys.stdout))
        _serialise_powertools_metrics(patches)
        if self.credentials is not None:
            _per_invocation_boto3(patches)


class CompressedClock:
    """Wait states and Retry intervals take ``factor`` of their time; the simulated seconds are counted.

    A wait for the world to change (``PARKED``: respond's re-check of the alarm, minutes after the runbook) would see
    nothing change in compressed time. It is parked instead: it resumes once the scenario's next step has run (an OK
    that came in the meantime), or when the scenario ends. ``step`` counts the scenario's steps.

    A Wait until a time (``Timestamp`` / ``TimestampPath``, e.g. a maintenance window booked ahead) waits on the
    simulated clock: moto would wait the real time (against the naive local time, too); here it resumes when the
    clock (``origin`` + the simulated seconds) has passed that time (``advance``, a scenario's wait_minutes, the live
    clock), or when the scenario ends."""

    # respond's re-check of the alarm; the ops correlate's wait for the P0 to stay recovered (stacks/fleet.py)
    PARKED = frozenset({"WaitBeforeRecheck", "WaitForRecovery"})

    def __init__(self, factor: float = 0.0, live: bool = False):
        self.factor = factor
        # live (the long-running sandbox): a parked wait resumes when the clock has passed its seconds, not at the
        # next scenario step; the clock runs with real time and ``advance`` moves it on
        self.live = live
        self._parked_until: list[tuple[float, threading.Event]] = []
        self.simulated_seconds = 0.0
        self.step = 0
        self.now = 0.0  # simulated seconds since the start; advanced by ``advance`` (a wait_minutes step)
        self.origin = datetime.now(UTC)  # the simulated clock's time at its start
        self._parked: list[tuple[int, threading.Event]] = []
        # Waits for a task token (an approval, a maintenance window's "done"): they last until answered, or until
        # the simulated clock passes their timeout: (deadline, the callback's answer event, our time-out event).
        self._callbacks: list[tuple[float, threading.Event, threading.Event]] = []
        self._lock = threading.Lock()

    def simulated_now(self) -> datetime:
        """The time on the simulated clock (what a Wait until a timestamp is measured against)."""
        return self.origin + timedelta(seconds=self.now)

    def parked(self) -> int:
        """Executions waiting for the world: parked waits, and task-token waits neither answered nor timed out
        (read from their events, so an answer counts at once: the waiter then waits for what it resumes)."""
        with self._lock:
            return (
                sum(1 for _, event in self._parked if not event.is_set())
                + len(self._parked_until)
                + sum(1 for _, answered, expired in self._callbacks if not answered.is_set() and not expired.is_set())
            )

    def advance(self, seconds: float) -> int:
        """Simulated time passes: task-token waits whose timeout has come time out. How many did."""
        with self._lock:
            self.now += seconds
            self.simulated_seconds += seconds
            due = [
                expired
                for deadline, answered, expired in self._callbacks
                if deadline <= self.now and not answered.is_set() and not expired.is_set()
            ]
            woken = [event for deadline, event in self._parked_until if deadline <= self.now]
            self._parked_until = [(d, e) for d, e in self._parked_until if d > self.now]
        for event in due + woken:
            event.set()
        return len(due)

    def expire_callbacks(self) -> int:
        """The scenario is over: nobody will answer, so every task-token wait times out, as it would in AWS."""
        with self._lock:
            due = [expired for _, answered, expired in self._callbacks if not answered.is_set() and not expired.is_set()]
        for expired in due:
            expired.set()
        return len(due)

    def await_callback(self, timeout_seconds: float | None, answered: threading.Event):
        """Wait for an answer, or for the simulated clock to pass ``timeout_seconds``. True: answered."""
        expired = threading.Event()
        with self._lock:
            deadline = self.now + (timeout_seconds if timeout_seconds is not None else float("inf"))
            self._callbacks.append((deadline, answered, expired))
        while not answered.wait(0.02):
            if expired.is_set():
                return answered.is_set()
        return True

    def release(self, before: int | None = None) -> int:
        """Resume the parked waits of steps before ``before`` (all: None); how many resumed."""
        with self._lock:
            due = [e for step, e in self._parked if not e.is_set() and (before is None or step < before)]
            self._parked = [(s, e) for s, e in self._parked if not e.is_set() and e not in due]
            if before is None:  # the end: waits on the live clock resume too
                due += [e for _, e in self._parked_until]
                self._parked_until = []
        for event in due:
            event.set()
        return len(due)

    def _park(self, seconds: float = 0.0, *, on_clock: bool = False) -> None:
        event = threading.Event()
        with self._lock:
            if self.live or on_clock:
                self._parked_until.append((self.now + seconds, event))
            else:
                self._parked.append((self.step, event))
        event.wait()

    def _install_timestamp_waits(self, patches: Patches) -> None:
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

        clock = self

        def _timestamp_seconds(self, env):
            # moto: ``timestamp - datetime.now()``, a UTC time against the local one, in real time
            self.string.eval(env=env)
            text = env.stack.pop()
            at = self._from_timestamp_string(timestamp=text)
            if at is None:
                raise FailureEventException(self._create_failure_event(env, text))
            return int((at.replace(tzinfo=UTC) - clock.simulated_now()).total_seconds())

        def _timestamp_interval(self, env, wait_seconds):
            if wait_seconds > 0:
                clock.simulated_seconds += wait_seconds
                clock._park(wait_seconds, on_clock=True)

        patches.set(Timestamp, "_get_wait_seconds", _timestamp_seconds)
        patches.set(Timestamp, "_wait_interval", _timestamp_interval)

    def _install_handler_sleeps(self, patches: Patches) -> None:
        """A scenario's Lambda handlers' own waits (PagerDuty's retry backoff, botocore's retries) pass on the
        simulated clock, as the workflows' waits do; every other thread (moto, the sandbox's waiter) sleeps in real
        time."""
        if self.live:  # the long-running sandbox's clock runs with real time: so do the handlers' waits
            return
        clock, real_sleep = self, time.sleep

        def sleep(seconds: float) -> None:
            if current_function() is None:
                return real_sleep(seconds)
            clock.simulated_seconds += seconds
            return real_sleep(seconds * clock.factor)

        patches.set(time, "sleep", sleep)

    def install(self, patches: Patches):
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

        clock = self
        self._install_timestamp_waits(patches)  # first: undone last, Timestamp then holds moto's own interval
        self._install_handler_sleeps(patches)

        def _wait_interval(self, env, wait_seconds):
            clock.simulated_seconds += wait_seconds
            state = env.states.context_object.context_object_data.get("State") or {}
            if state.get("Name") in clock.PARKED:
                clock._park(wait_seconds)
                return
            if wait_seconds > 0 and clock.factor > 0:
                env.program_state_event.wait(wait_seconds * clock.factor)

        class _Time:
            def __getattr__(self, name):
                return getattr(time, name)

            @staticmethod
            def sleep(seconds):
                clock.simulated_seconds += seconds
                time.sleep(seconds * clock.factor)

        original_token_wait = state_task_service_callback.StateTaskServiceCallback._wait_for_task_token_timeout

        def _wait_for_task_token_timeout(self, timeout_seconds, callback_endpoint):
            # moto also listens for a token beside a .sync task (a child workflow): that one is no wait for a
            # person, must not count as parked, and must not time out when the scenario ends
            if self.resource.condition != ResourceCondition.WaitForTaskToken:
                return original_token_wait(self, timeout_seconds, callback_endpoint)
            if clock.await_callback(timeout_seconds, callback_endpoint._notify_event):
                return callback_endpoint.get_outcome()
            return None  # moto then fails the task with States.Timeout, as AWS does

        patches.set(WaitFunction, "_wait_interval", _wait_interval)
        patches.set(
            state_task_service_callback.StateTaskServiceCallback, "_wait_for_task_token_timeout", _wait_for_task_token_timeout
        )
        patches.set(retrier_decl, "time", _Time())
        # how often a parent polls a .sync child: 0.5 s by default, far above our compressed steps
        patches.set(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.05)


_PARSE_TREES: dict[str, Any] = {}
_PARSE_TREES_LOCK = threading.Lock()


def parse_each_definition_once(patches: Patches) -> None:
    """moto lexes and parses a state machine's ASL (ANTLR, in pure Python) again at every execution start: about
    0.2 s of the interpreter each time, the largest cost of a scenario. The parse tree of a definition is kept
    (per process) and only turned into evaluation components per execution, as moto does; a definition with
    a syntax error still raises on every call."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse

    def parse(definition: str):
        with _PARSE_TREES_LOCK:
            tree = _PARSE_TREES.get(definition)
        if tree is None:
            program, tree = original(definition)
            with _PARSE_TREES_LOCK:
                _PARSE_TREES[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    patches.set(AmazonStateLanguageParser, "parse", staticmethod(parse))


class _JsonFirstYaml:
    """The yaml module as moto's CloudFormation sees it, with a ``load`` that reads JSON as JSON: moto reads
    every template with PyYAML's pure-Python loader first, about 1.7 s for a synthesized stack's template, where
    the JSON parser takes a few milliseconds for the same dict. A YAML template still goes to PyYAML."""

    def __getattr__(self, name: str) -> Any:
        import yaml

        return getattr(yaml, name)

    @staticmethod
    def load(stream: Any, Loader: Any) -> Any:
        import yaml

        if isinstance(stream, str | bytes) and stream.lstrip()[:1] in ("{", b"{"):
            try:
                return json.loads(stream)
            except ValueError:
                pass
        return yaml.load(stream, Loader=Loader)  # noqa: S506 - moto's own call, with moto's own loader


def json_templates_read_as_json(patches: Patches) -> None:
    from moto.cloudformation import models, responses

    shim = _JsonFirstYaml()
    patches.set(models, "yaml", shim)
    patches.set(responses, "yaml", shim)


def fix_execution_status_race(patches: Patches) -> None:
    """moto lists an execution before starting it, with no status yet: ListExecutions(statusFilter=...) run at that
    moment (the sandbox waits by polling it while deliveries start executions) fails with AttributeError. An
    execution being started is running."""
    from moto.stepfunctions.parser.backend.execution import Execution

    def status(self):
        return "RUNNING" if self.exec_status is None else self.exec_status.value

    patches.set(Execution, "status", property(status))


def unnamed_executions_get_a_uuid(patches: Patches) -> None:
    """StartExecution without a name (the console's and the AWS CLI's default): AWS names the execution with a
    UUID. moto's executing backend keeps the name None: the ARN ends in ``:None``, ``name`` is null, and a second
    unnamed start of the same state machine fails with ExecutionAlreadyExists."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    patches.set(StepFunctionsParserBackend, "start_execution", start_execution)


def fix_nested_start_execution(patches: Patches) -> None:
    """moto passes ASL parameter names (Input, StateMachineArn) to boto3 unchanged and returns boto3's
    names (executionArn, output) to the workflow unchanged; AWS maps both. Map them here."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        original(self, parameters, boto_service_name=boto_service_name, service_action_name=service_action_name)
        for key in list(parameters):
            parameters[key[:1].lower() + key[1:]] = parameters.pop(key)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        if isinstance(response, dict):
            for key in list(response):
                if key[:1].islower():
                    response[key[:1].upper() + key[1:]] = response.pop(key)

    patches.set(StateTaskServiceSfn, "_normalise_parameters", _normalise_parameters)
    patches.set(StateTaskServiceSfn, "_normalise_response", _normalise_response)


def atomic_dynamodb(patches: Patches) -> None:
    """DynamoDB applies each request atomically (a conditional write is checked and written as one);
    moto checks and writes without a lock, so concurrent invocations could both pass a condition.
    Serialise the backend's item operations, as one request at a time per item would."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "transact_get_items",
    ):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def atomic(*args, __original=original, **kwargs):
            with lock:
                return __original(*args, **kwargs)

        patches.set(DynamoDBBackend, name, atomic)


def sts_checks_signatures(patches: Patches) -> None:
    """STS answers GetCallerIdentity only to a request signed with the caller's secret key, as AWS does; moto reads
    the access key id from the request and believes it. The answer function proves who answers this way
    (lambdas/logic/identity.py): with the check, a proof signed with someone else's key id fails here too."""
    from moto.iam.access_control import IAMRequest
    from moto.sts.responses import TokenResponse

    original = TokenResponse.get_caller_identity

    def get_caller_identity(self):
        if "Authorization" in self.headers:  # a SignatureDoesNotMatch or InvalidClientTokenId, as STS answers
            IAMRequest(
                account_id=self.current_account,
                method=self.method,
                path=self.raw_path,
                data=self.data,
                body=self.raw_body,
                headers=self.headers,
                action="GetCallerIdentity",
            ).check_signature()
        return original(self)

    patches.set(TokenResponse, "get_caller_identity", get_caller_identity)


def sts_over_https(patches: Patches) -> None:
    """A Lambda's own HTTPS request to STS (urllib, as in AWS: the answer function sends the signed
    GetCallerIdentity itself) reaches moto: through ``requests``, which moto intercepts for AWS hosts."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    import requests

    original = urllib.request.urlopen

    def urlopen(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        parts = urlsplit(url)
        if not (
            parts.scheme == "https"
            and parts.netloc.startswith("sts.")
            and parts.netloc.endswith(".amazonaws.com")
            and isinstance(request, urllib.request.Request)
        ):
            return original(request, *args, **kwargs)
        resp = requests.request(
            request.get_method(),
            url,
            data=request.data,
            headers=dict(request.header_items()),
            timeout=kwargs.get("timeout") or 10,
        )
        if resp.status_code >= 400:
            raise urllib.error.HTTPError(url, resp.status_code, resp.reason, resp.headers, io.BytesIO(resp.content))
        return io.BytesIO(resp.content)

    patches.set(urllib.request, "urlopen", urlopen)


def fix_task_failure_cause(patches: Patches) -> None:
    """moto's SendTaskFailure drops ``cause``; AWS hands it to the waiting task's Catch ($.Cause). A rejected
    approval carries who rejected it, and why, in the cause."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self):
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    patches.set(StepFunctionResponse, "send_task_failure", send_task_failure)


def fix_interpreter_account(patches: Patches, keys) -> None:
    """moto's Step Functions interpreter calls Lambda, SNS, DynamoDB... with access key "ak", which no account
    knows, so a task of a customer's workflow would land in moto's default account. AWS runs it with the state
    machine's role: sign the interpreter's clients with a key of the role's account (``keys(account)``)."""
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials=None):
        client = original(region=region, service=service, state_credentials=state_credentials)
        role_arn = getattr(state_credentials, "role_arn", None) or ""
        if role_arn.count(":") >= 5:
            key = keys(role_arn.split(":")[4])
            client = boto3_client_like(client, service, region, key)
        return client

    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original and getattr(module, "__name__", "").startswith(
            "moto.stepfunctions.parser"
        ):
            patches.set(module, "boto_client_for", boto_client_for)


def boto3_client_like(client, service: str, region: str, key: dict):
    """The same client (endpoint, config), signed with ``key``; made once per service, region, key and endpoint
    (the interpreter asks for a client at every task)."""
    endpoint = client.meta.endpoint_url if client.meta.endpoint_url and "amazonaws.com" not in client.meta.endpoint_url else None
    cache_key = ("interpreter", service, region, key["id"], endpoint)
    with _SHARED_LOCK:
        if cache_key not in _SHARED:
            _SHARED[cache_key] = signed_client(
                "client",
                service,
                key["id"],
                key["secret"],
                region_name=region,
                config=client.meta.config,
                **({"endpoint_url": endpoint} if endpoint else {}),
            )
        return _SHARED[cache_key]


def executing_cloudformation_state_machines(patches: Patches) -> None:
    """With ``execute_state_machine`` on, moto's Step Functions API reads the executing (parser) backend, but its
    CloudFormation creates, updates and deletes state machines in the plain one, where they never run. Point the
    CloudFormation model at the executing backend: a stack deployed by the CDK CLI then runs as deployed."""
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    patches.set(models, "stepfunctions_backends", stepfunctions_parser_backends)


class _AlarmEvents(threading.local):
    quiet: bool = False  # the sandbox delivers this change itself (a scenario's alarm step)


ALARM_EVENTS = _AlarmEvents()


def alarm_state_changes(patches: Patches, on_change) -> None:
    """CloudWatch sends "CloudWatch Alarm State Change" to EventBridge when an alarm changes state; moto does not.
    Call ``on_change(alarm, previous_state, account, region)`` after every change of state (SetAlarmState from any
    client, the AWS CLI's `cloudwatch set-alarm-state` included), except those the sandbox delivers itself."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self, alarm_name, reason, reason_data, state_value):
        alarm = self.alarms.get(alarm_name)
        previous = alarm.state_value if alarm is not None else None
        result = original(self, alarm_name, reason, reason_data, state_value)
        if alarm is not None and previous != state_value and not ALARM_EVENTS.quiet:
            on_change(alarm, previous, self.account_id, self.region_name)
        return result

    patches.set(CloudWatchBackend, "set_alarm_state", set_alarm_state)


def fix_template_url_on_loopback(patches: Patches) -> None:
    """The CDK CLI uploads a large template to the bootstrap bucket and passes its ``TemplateURL``; against the
    sandbox that URL is on 127.0.0.1, which moto reads as a bucket named "127" (its parser knows ``localhost``
    only): "The specified bucket does not exist"."""
    from moto.cloudformation.responses import CloudFormationResponse

    original = CloudFormationResponse._get_stack_from_s3_url

    def _get_stack_from_s3_url(self, template_url: str) -> str:
        for loopback in ("://127.0.0.1:", "://127.0.0.1/"):
            template_url = template_url.replace(loopback, loopback.replace("127.0.0.1", "localhost"))
        return original(self, template_url)

    patches.set(CloudFormationResponse, "_get_stack_from_s3_url", _get_stack_from_s3_url)


def _find_change_set(backend, change_set_name: str, stack_name: str | None = None):
    """A change set by its id, or by its name (within the stack, when one is named); None if there is none. By name,
    the newest: moto keeps executed change sets, so the CDK CLI's second deploy (its change set is always named
    cdk-deploy-change-set) would otherwise read the first deploy's, EXECUTE_COMPLETE, and refuse to execute."""
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    for cs in reversed(list(backend.change_sets.values())):
        if cs.change_set_name == change_set_name and stack_name in (None, cs.stack_name, cs.stack_id):
            return cs
    return None


def _create_stack_from(stack, change_set) -> None:
    """A CREATE change set executed as CreateStack does it."""
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.parameters = change_set.parameters
    stack.resource_map = stack._create_resource_map()
    try:
        stack.create_resources()
    except Exception as error:  # noqa: BLE001 - any resource's failure fails the stack, as on AWS
        _roll_back_creation(stack, error)
        return
    stack.output_map = stack._create_output_map()
    stack.status = "CREATE_COMPLETE"


def _roll_back_creation(stack, error: Exception) -> None:
    """moto lets a resource's failure (a retained table of the same name: "Table already exists") escape from
    ExecuteChangeSet as that service's JSON error, which the CDK CLI cannot read ("XML parse error"), and leaves
    the resources created so far. On AWS the stack fails: CREATE_FAILED with the reason, the created resources
    are deleted (those with DeletionPolicy Retain kept) and the stack ends ROLLBACK_COMPLETE; the CDK CLI reports
    the reason and deletes the rolled-back stack before its next deploy."""
    reason = getattr(error, "message", None) or str(error)
    stack._add_stack_event("CREATE_FAILED", resource_status_reason=f"Resource creation failed: {reason}")
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=f"Resource creation failed: {reason}")
    stack.resource_map.delete()
    # no outputs: moto's are lazy, and reading one that refers to the failed resource would create it again
    from moto.cloudformation.parsing import OutputMap

    stack.output_map = OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)
    stack._add_stack_event("ROLLBACK_COMPLETE")
    stack.status = "ROLLBACK_COMPLETE"


def fix_change_sets(patches: Patches) -> None:
    """The CDK CLI deploys through change sets; moto's are thin:
    - a CREATE change set applies the template to an empty stack as an update: resources in no dependency order,
      alarms (our AlarmModel) never created, no Outputs, no Parameters. Create the stack as CreateStack does.
    - an UPDATE change set does not rebuild the Outputs: update the stack as UpdateStack does.
    - DeleteChangeSet of a name it does not find crashes (UnboundLocalError, HTTP 500), so `cdk diff` falls back
      and every later deploy with a change fails; DescribeChangeSet after that. Both answer as AWS does.
    - a resource that fails to create fails the request with its service's JSON error: the stack rolls back
      instead (``_roll_back_creation``).
    """
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    class ChangeSetNotFound(CloudFormationError):  # what AWS answers (the CDK CLI tells it from other errors)
        code = "ChangeSetNotFound"

    def execute_change_set(self, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = _find_change_set(self, change_set_name, stack_name)
        if change_set is None:
            raise ValidationError(stack_name, message=f"ChangeSet [{change_set_name}] does not exist")
        stack = self.stacks[change_set.stack_id]
        if change_set.change_set_type == "CREATE":
            _create_stack_from(stack, change_set)
        else:
            stack.update(
                change_set.template, role_arn=change_set.role_arn, parameters=change_set.parameters, tags=change_set.tags
            )
        for export in stack.exports:
            self.exports[export.name] = export
        change_set.execution_status = "EXECUTE_COMPLETE"
        change_set.status = "EXECUTE_COMPLETE"

    def delete_change_set(self, change_set_name: str) -> None:
        change_set = _find_change_set(self, change_set_name)
        if change_set is not None:
            self.change_sets.pop(change_set.change_set_id, None)

    def describe_change_set(self, change_set_name: str):
        change_set = _find_change_set(self, change_set_name)
        if change_set is None:
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        return change_set

    _keep_previous_parameters(patches)
    patches.set(CloudFormationBackend, "execute_change_set", execute_change_set)
    patches.set(CloudFormationBackend, "delete_change_set", delete_change_set)
    patches.set(CloudFormationBackend, "describe_change_set", describe_change_set)


def _keep_previous_parameters(patches: Patches) -> None:
    """``UsePreviousValue`` takes the previous value as the stack resolved it (the SSM parameter's value for an
    SSM-typed parameter, such as the CDK's ``BootstrapVersion``), which the update then reads as an SSM path and
    crashes on (HTTP 500). The previous value is the one given before, or the template's default."""
    from moto.cloudformation.responses import CloudFormationResponse

    original_create = CloudFormationResponse.create_change_set

    def create_change_set(self):
        get_param = self._get_param

        def previous(key: str):
            stack = self.cloudformation_backend.get_stack(get_param("StackName"))
            given = stack.parameters or {}
            if key in given:
                return given[key]
            return stack.template_dict.get("Parameters", {}).get(key, {}).get("Default")

        def _get_param(name, *args, **kwargs):
            value = get_param(name, *args, **kwargs)
            if name == "Parameters" and value and get_param("ChangeSetType", "CREATE") == "UPDATE":
                value = [
                    {"ParameterKey": p["ParameterKey"], "ParameterValue": previous(p["ParameterKey"])}
                    if str(p.get("UsePreviousValue", "")).lower() == "true"
                    else p
                    for p in value
                ]
            return value

        self._get_param = _get_param
        return original_create(self)

    patches.set(CloudFormationResponse, "create_change_set", create_change_set)


SECURITY_GROUP_CALLS = {  # moto's response method -> CloudTrail's eventName
    "authorize_security_group_ingress": "AuthorizeSecurityGroupIngress",
    "authorize_security_group_egress": "AuthorizeSecurityGroupEgress",
    "revoke_security_group_ingress": "RevokeSecurityGroupIngress",
    "revoke_security_group_egress": "RevokeSecurityGroupEgress",
    "create_security_group": "CreateSecurityGroup",
    "delete_security_group": "DeleteSecurityGroup",
}


def _permissions(response) -> list[dict]:
    """The rules of an EC2 security-group request, one per CIDR: {"protocol", "from", "to", "cidr"}."""
    out = []
    for rule in response._process_rules_from_querystring():
        for cidr in [r.get("CidrIp") for r in rule.get("ip_ranges") or []] or [None]:
            out.append(
                {"protocol": rule.get("ip_protocol"), "from": rule.get("from_port"), "to": rule.get("to_port"), "cidr": cidr}
            )
    return out


def cloudtrail_security_group_changes(patches: Patches, on_change) -> None:
    """CloudTrail reports every security-group change (``aws ec2 authorize-security-group-ingress`` ...) as an "AWS
    API Call via CloudTrail" event; moto has no trail. Call ``on_change(event_name, group_id, permissions,
    caller_arn, account, region, request)`` after each such call that succeeds, with the caller's ARN as STS knows
    it; ``request``: the group name and VPC given, if any."""
    from moto.ec2.responses.security_groups import SecurityGroups
    from moto.sts.models import sts_backends

    for method, event_name in SECURITY_GROUP_CALLS.items():
        original = getattr(SecurityGroups, method)

        def call(self, __original=original, __event=event_name):
            permissions = _permissions(self) if __event.startswith(("Authorize", "Revoke")) else []
            result = __original(self)
            made = getattr(result, "result", None)
            group = (
                self._get_param("GroupId")
                or (made.get("GroupId") if isinstance(made, dict) else None)
                or self._get_param("GroupName")
            )
            account, region = self.current_account, self.region
            _, caller, _ = sts_backends[account]["aws"].get_caller_identity(self.get_access_key(), region)
            request = {"group_name": self._get_param("GroupName"), "vpc_id": self._get_param("VpcId")}
            on_change(__event, group, permissions, caller, account, region, request)
            return result

        patches.set(SecurityGroups, method, call)


def public_layers(patches: Patches) -> None:
    """A function's layers must exist in moto, and a layer that AWS or a vendor publishes (the Powertools layer, in
    account 017000801446) cannot: an update of a function with such a layer (the CDK CLI's second deploy) fails
    with ResourceNotFoundException, which moto's CloudFormation answers as JSON inside its XML API. A layer of
    another account is taken as published; one of the function's own account must still exist."""
    from moto.awslambda.exceptions import UnknownLayerVersionException
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._get_layers_data

    def _get_layers_data(self, layers_versions_arns):
        own = [arn for arn in layers_versions_arns if arn.split(":")[4:5] == [self.account_id]]
        known = original(self, own)
        if len(known) != len(own):
            raise UnknownLayerVersionException(own)
        published = iter({"Arn": arn, "CodeSize": 0} for arn in layers_versions_arns if arn not in own)
        by_arn = {layer["Arn"]: layer for layer in known}
        return [by_arn[arn] if arn in own else next(published) for arn in layers_versions_arns]

    patches.set(LambdaFunction, "_get_layers_data", _get_layers_data)


def cloudtrail_parameter_changes(patches: Patches, on_change) -> None:
    """CloudTrail reports every PutParameter (the mode switch set with `aws ssm put-parameter` or the console) as an
    "AWS API Call via CloudTrail" event; moto has no trail. Call ``on_change(name, caller_arn, account, region)``
    after each PutParameter that succeeds, with the caller's ARN as STS knows it (the key that signed the request),
    except those the sandbox makes and delivers itself (``ALARM_EVENTS.quiet``)."""
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.sts.models import sts_backends

    original = SimpleSystemManagerResponse.put_parameter

    def put_parameter(self):
        result = original(self)
        if not ALARM_EVENTS.quiet:
            account, region = self.current_account, self.region
            _, caller, _ = sts_backends[account]["aws"].get_caller_identity(self.get_access_key(), region)
            on_change(self._get_param("Name"), caller, account, region)
        return result

    patches.set(SimpleSystemManagerResponse, "put_parameter", put_parameter)


def ecs_task_stops(patches: Patches, on_stop) -> None:
    """ECS sends an "ECS Task State Change" to EventBridge when a task stops (``aws ecs stop-task``, a crash); moto
    sends nothing. Call ``on_stop(task, account, region)`` after each StopTask that succeeds, ``task`` in
    DescribeTasks' shape (clusterArn, taskArn, group, stoppedReason, startedBy, taskDefinitionArn), except those the
    sandbox makes and delivers itself (``ALARM_EVENTS.quiet``). A task of a service lowers the service's running
    count by one, as ECS's does until its scheduler replaces the task."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.stop_task

    def stop_task(self, cluster_str: str, task_str: str, reason: str):
        task = original(self, cluster_str, task_str, reason)
        if ALARM_EVENTS.quiet:
            return task
        group = str(task.group or "")
        service = (
            self.services.get(f"{task.cluster_name}:{group.removeprefix('service:')}") if group.startswith("service:") else None
        )
        if service is not None:
            service.running_count = max(service.running_count - 1, 0)
        described = {
            "clusterArn": task.cluster_arn,
            "taskArn": task.task_arn,
            "group": group or None,
            "stoppedReason": reason or "",
            "startedBy": task.started_by,
            "taskDefinitionArn": task.task_definition_arn,
            "launchType": task.launch_type,
            "containers": [{"name": c.name} for c in task.containers],
        }
        on_stop(described, self.account_id, self.region_name)
        return task

    patches.set(EC2ContainerServiceBackend, "stop_task", stop_task)


def put_events_delivered(patches: Patches, on_put) -> None:
    """EventBridge delivers a PutEvents entry to the rules of its bus: Step Functions targets, and other buses across
    accounts (keeping the sender's account). moto's own delivery has neither: it raises NotImplementedError for a
    Step Functions target (and fails the PutEvents), and its cross-account forwarding re-stamps the event with the
    target's account. So moto delivers nothing here: ``on_put(event, bus_name, account, region)`` gets each entry
    moto accepted, as the envelope EventBridge builds (its id, the caller's account, its time), and the sandbox
    delivers it (sandbox/eventbus.py) as it does every other event."""
    from moto.events.models import EventsBackend, Rule

    original = EventsBackend.put_events
    patches.set(Rule, "send_to_targets", lambda self, event, transform_input=True: None)

    def put_events(self, events):
        answers = original(self, events)
        for entry, answer in zip(events, answers, strict=False):
            if "EventId" not in answer:
                continue
            at = entry.get("Time")
            stamp = (
                at.strftime("%Y-%m-%dT%H:%M:%SZ")
                if hasattr(at, "strftime")
                else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(at) if at else None))
            )
            event = {
                "version": "0",
                "id": answer["EventId"],
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": self.account_id,
                "time": stamp,
                "region": self.region_name,
                "resources": list(entry.get("Resources") or []),
                "detail": json.loads(entry["Detail"]),
            }
            bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
            on_put(event, bus, self.account_id, self.region_name)
        return answers

    patches.set(EventsBackend, "put_events", put_events)


def event_bus_ref_is_its_name(patches: Patches) -> None:
    """In a template, ``Ref`` of an AWS::Events::EventBus is its name (a rule on it names it in EventBusName); moto's
    bus has no physical id, so its CloudFormation passes the bus object itself and put_rule fails ('EventBus' object
    has no attribute 'split')."""
    from moto.events.models import EventBus

    EventBus.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]  # moto has none
    patches.on_undo(lambda: delattr(EventBus, "physical_resource_id"))


def s3_object_lock_from_cloudformation(patches: Patches) -> None:
    """moto's CloudFormation creates an AWS::S3::Bucket with its encryption and tags only: ObjectLockEnabled,
    ObjectLockConfiguration and VersioningConfiguration are dropped, so the audit export's bucket would be neither
    versioned nor locked. Apply them as S3 does at creation (PutObjectLockConfiguration's own checks included)."""
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    original = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        bucket = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        backend = s3_backends[account_id][get_partition(region_name)]
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled" or properties.get("ObjectLockEnabled"):
            backend.put_bucket_versioning(bucket.name, "Enabled")
        if properties.get("ObjectLockEnabled"):
            retention = properties.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
            backend.put_object_lock_configuration(
                bucket.name,
                lock_enabled=True,
                mode=retention.get("Mode"),
                days=int(retention.get("Days", 0)),
                years=int(retention.get("Years", 0)),
            )
        return bucket

    patches.set(FakeBucket, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
