"""Fill what moto lacks, as found when this was tried (see docs/architecture.md, "sandbox").

- AWS::CloudWatch::Alarm has no CloudFormation model: ``AlarmModel`` creates the alarm through
  moto's CloudWatch backend. It must be defined before the first stack is created.
- Lambda runs only with Docker: ``InProcessLambda`` routes moto's simple Lambda backend to the real
  handler, imported from the deployed code, with the function's environment.
- Wait states and Retry intervals really wait: ``CompressedClock`` shortens them, keeping the number
  of attempts and the order of events as deployed.
"""

import contextlib
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


def _powertools_logs_to(stream) -> None:
    """Powertools' Logger keeps the stream it saw when the module was imported (maybe by a test
    before the sandbox started); point it at the sandbox's sink for every invocation."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        for handler in getattr(logger, "handlers", []):
            formatter = type(getattr(handler, "formatter", None)).__module__
            if isinstance(handler, logging.StreamHandler) and formatter.startswith("aws_lambda_powertools"):
                handler.setStream(stream)


class InProcessLambda:
    """Runs the deployed handler in this process for every Invoke that moto receives."""

    def __init__(self, workdir: Path, on_invoke=None):
        self.workdir = workdir
        self.on_invoke = on_invoke  # callback(function_name, event, result, error, seconds)
        self.logs = io.StringIO()  # what the handlers printed (Powertools JSON logs and EMF metrics)
        self.invocations: list[dict] = []
        self._lock = threading.RLock()  # one invocation at a time: os.environ is process-wide
        self._code_dirs: set[str] = set()

    def _code_dir(self, fn) -> str:
        sha = fn.code_sha_256.replace("/", "_").replace("+", "-")[:32]
        target = self.workdir / "functions" / sha
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
            self._code_dir(fn)
            module_name, _, attr = fn.handler.rpartition(".")
            env = {**fn.environment_vars, "AWS_REGION": fn.region, "AWS_DEFAULT_REGION": fn.region,
                   "AWS_LAMBDA_FUNCTION_NAME": fn.function_name, "POWERTOOLS_TRACE_DISABLED": "true",
                   "_X_AMZN_TRACE_ID": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"}
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            started = time.perf_counter()
            error = None
            try:
                _LogSink.target = self.logs
                with contextlib.redirect_stdout(LOG_SINK):
                    handler = getattr(importlib.import_module(module_name), attr)
                    _powertools_logs_to(LOG_SINK)
                    result = handler(event, _Context(fn, fn.timeout))
                payload = json.dumps(result, default=str)
            except Exception as exc:  # noqa: BLE001 - reported to Step Functions as Lambda does
                error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                         "stackTrace": traceback.format_tb(exc.__traceback__)[-3:]}
                response_headers["x-amz-function-error"] = "Unhandled"
                payload = json.dumps(error)
                result = None
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            seconds = time.perf_counter() - started
            self.invocations.append({"function": fn.function_name, "seconds": seconds, "error": error})
            if self.on_invoke:
                self.on_invoke(fn.function_name, event, result, error, seconds)
        return payload.encode()

    def idle(self) -> bool:
        """No invocation in progress."""
        if self._lock.acquire(blocking=False):
            self._lock.release()
            return True
        return False

    def install(self, patches: Patches):
        from moto.awslambda_simple.models import LambdaSimpleBackend

        sandbox = self

        def invoke(self, function_name, qualifier, body, headers, response_headers):
            return sandbox.invoke(self, function_name, qualifier, body, headers, response_headers)

        patches.set(LambdaSimpleBackend, "invoke", invoke)


class CompressedClock:
    """Wait states and Retry intervals take ``factor`` of their time; the simulated seconds are counted."""

    def __init__(self, factor: float = 0.0):
        self.factor = factor
        self.simulated_seconds = 0.0
        self.waits: list[float] = []

    def install(self, patches: Patches):
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

        clock = self

        def _wait_interval(self, env, wait_seconds):
            clock.simulated_seconds += wait_seconds
            clock.waits.append(wait_seconds)
            if wait_seconds > 0 and clock.factor > 0:
                env.program_state_event.wait(wait_seconds * clock.factor)

        class _Time:
            def __getattr__(self, name):
                return getattr(time, name)

            @staticmethod
            def sleep(seconds):
                clock.simulated_seconds += seconds
                time.sleep(seconds * clock.factor)

        patches.set(WaitFunction, "_wait_interval", _wait_interval)
        patches.set(retrier_decl, "time", _Time())
        # how often a parent polls a .sync child: 0.5 s by default, far above our compressed steps
        patches.set(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.05)


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
