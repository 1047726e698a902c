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
from pathlib import Path

from moto.core.common_models import CloudFormationModel


class Patches:
    """Every change the sandbox makes to moto, undone when the sandbox stops: nothing leaks into
    code that runs after it (other tests using moto directly, for one)."""

    def __init__(self):
        self._saved: list[tuple[object, str, object]] = []

    def set(self, owner, name: str, value) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def undo(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            setattr(owner, name, value)


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
            name=p.get("AlarmName", resource_name), namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)), threshold=float(p.get("Threshold", 0)), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription", ""), dimensions=[
                {"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []), ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            treat_missing_data=p.get("TreatMissingData"), actions_enabled=p.get("ActionsEnabled", True),
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


class InProcessLambda:
    """Runs the deployed handler in this process for every Invoke that moto receives.

    Invocations run concurrently, as Lambda runs them: each sees its own function's environment
    (``EnvOverlay``), and what it prints goes to ``logs``."""

    def __init__(self, workdir: Path, on_invoke=None):
        self.workdir = workdir
        self.on_invoke = on_invoke  # callback(function_name, event, result, error, seconds)
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
                self.invocations.append({"function": fn.function_name, "started": started, "ended": ended,
                                         "seconds": seconds, "error": error})
            if self.on_invoke:
                self.on_invoke(fn.function_name, event, result, error, seconds)
        finally:
            with self._lock:
                self._running -= 1
        return payload.encode()

    def _run(self, fn, event, response_headers):
        module_name, _, attr = fn.handler.rpartition(".")
        env = {**fn.environment_vars, "AWS_REGION": fn.region, "AWS_DEFAULT_REGION": fn.region,
               "AWS_LAMBDA_FUNCTION_NAME": fn.function_name, "POWERTOOLS_TRACE_DISABLED": "true",
               "_X_AMZN_TRACE_ID": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"}
        saved = CURRENT.function, CURRENT.env
        CURRENT.function, CURRENT.env = fn.function_name, env
        started = time.perf_counter()
        try:
            handler = getattr(importlib.import_module(module_name), attr)
            _powertools_logs_to(LOG_SINK)
            result = handler(event, _Context(fn, fn.timeout))
            payload, error = json.dumps(result, default=str), None
        except Exception as exc:  # noqa: BLE001 - reported to Step Functions as Lambda does
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                     "stackTrace": traceback.format_tb(exc.__traceback__)[-3:]}
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


class CompressedClock:
    """Wait states and Retry intervals take ``factor`` of their time; the simulated seconds are counted.

    A wait for the world to change (``PARKED``: respond's re-check of the alarm, minutes after the runbook) would see
    nothing change in compressed time. It is parked instead: it resumes once the scenario's next step has run (an OK
    that came in the meantime), or when the scenario ends. ``step`` counts the scenario's steps."""

    PARKED = frozenset({"WaitBeforeRecheck"})

    def __init__(self, factor: float = 0.0):
        self.factor = factor
        self.simulated_seconds = 0.0
        self.step = 0
        self.now = 0.0  # simulated seconds since the start; advanced by ``advance`` (a wait_minutes step)
        self._parked: list[tuple[int, threading.Event]] = []
        # Waits for a task token (an approval, a maintenance window's "done"): they last until answered, or until
        # the simulated clock passes their timeout: (deadline, the callback's answer event, our time-out event).
        self._callbacks: list[tuple[float, threading.Event, threading.Event]] = []
        self._lock = threading.Lock()

    def parked(self) -> int:
        """Executions waiting for the world: parked waits, and task-token waits neither answered nor timed out
        (read from their events, so an answer counts at once: the waiter then waits for what it resumes)."""
        with self._lock:
            return (sum(1 for _, event in self._parked if not event.is_set())
                    + sum(1 for _, answered, expired in self._callbacks
                          if not answered.is_set() and not expired.is_set()))

    def advance(self, seconds: float) -> int:
        """Simulated time passes: task-token waits whose timeout has come time out. How many did."""
        with self._lock:
            self.now += seconds
            self.simulated_seconds += seconds
            due = [expired for deadline, answered, expired in self._callbacks
                   if deadline <= self.now and not answered.is_set() and not expired.is_set()]
        for expired in due:
            expired.set()
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
        for event in due:
            event.set()
        return len(due)

    def _park(self) -> None:
        event = threading.Event()
        with self._lock:
            self._parked.append((self.step, event))
        event.wait()

    def install(self, patches: Patches):
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

        clock = self

        def _wait_interval(self, env, wait_seconds):
            clock.simulated_seconds += wait_seconds
            state = env.states.context_object.context_object_data.get("State") or {}
            if state.get("Name") in clock.PARKED:
                clock._park()
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

        def _wait_for_task_token_timeout(self, timeout_seconds, callback_endpoint):
            if clock.await_callback(timeout_seconds, callback_endpoint._notify_event):
                return callback_endpoint.get_outcome()
            return None  # moto then fails the task with States.Timeout, as AWS does

        patches.set(WaitFunction, "_wait_interval", _wait_interval)
        patches.set(state_task_service_callback.StateTaskServiceCallback, "_wait_for_task_token_timeout",
                    _wait_for_task_token_timeout)
        patches.set(retrier_decl, "time", _Time())
        # how often a parent polls a .sync child: 0.5 s by default, far above our compressed steps
        patches.set(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.05)


def fix_execution_status_race(patches: Patches) -> None:
    """moto lists an execution before starting it, with no status yet: ListExecutions(statusFilter=...) run at that
    moment (the sandbox waits by polling it while deliveries start executions) fails with AttributeError. An
    execution being started is running."""
    from moto.stepfunctions.parser.backend.execution import Execution

    def status(self):
        return "RUNNING" if self.exec_status is None else self.exec_status.value

    patches.set(Execution, "status", property(status))


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
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan",
                 "batch_get_item", "transact_get_items"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def atomic(*args, __original=original, **kwargs):
            with lock:
                return __original(*args, **kwargs)

        patches.set(DynamoDBBackend, name, atomic)


def fix_task_failure_cause(patches: Patches) -> None:
    """moto's SendTaskFailure drops ``cause``; AWS hands it to the waiting task's Catch ($.Cause). A rejected
    approval carries who rejected it, and why, in the cause."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self):
        self.stepfunction_backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"),
                                                    cause=self._get_param("cause"))
        return EmptyResult()

    patches.set(StepFunctionResponse, "send_task_failure", send_task_failure)
