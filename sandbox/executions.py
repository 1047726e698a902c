"""The executions the sandbox has seen, in a deterministic order, and waiting until none runs."""

import json
import threading
import time

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class ExecutionLog:
    """Every execution of the deployed state machines, ordered by start time, ties broken by the
    order in which the sandbox saw them start (start times tie: they have limited resolution)."""

    def __init__(self, client_of_arn, state_machines):
        self.client_of_arn = client_of_arn  # ARN -> callable(service) -> a sandbox client of the ARN's account
        self.state_machines = state_machines  # () -> {name: arn} of every deployed workflow
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def install(self, patches) -> None:
        """Number each execution as moto starts it: API, EventBridge delivery and nested .sync alike."""
        from moto.stepfunctions.parser.backend.execution import Execution

        original = Execution.start
        log = self

        def start(execution):
            with log._lock:
                log._seen.setdefault(execution.exec_arn, len(log._seen))
            return original(execution)

        patches.set(Execution, "start", start)

    def seen_order(self, arn: str) -> int:
        with self._lock:
            return self._seen.get(arn, len(self._seen))

    def all(self, state_machines: dict | None = None) -> list[dict]:
        out = []
        for name, arn in (self.state_machines() if state_machines is None else state_machines).items():
            sfn = self.client_of_arn(arn)("stepfunctions")
            for e in _list_executions(sfn, arn):
                d = sfn.describe_execution(executionArn=e["executionArn"])
                out.append(
                    {
                        "state_machine": name,
                        # moto leaves out the name of an execution started without one (EventBridge's target)
                        "name": e.get("name") or d.get("name") or d["executionArn"].rsplit(":", 1)[-1],
                        "status": d["status"],
                        "input": _json(d.get("input")),
                        "output": _json(d.get("output")),
                        "error": d.get("error"),
                        "cause": d.get("cause"),
                        "arn": d["executionArn"],
                        "started": e["startDate"].isoformat(),
                    }
                )
        return sorted(out, key=lambda e: (e["started"], self.seen_order(e["arn"])))

    def running(self) -> int:
        """Executions of the deployed workflows that run now, read from moto's backends in this process: the
        waiter asks this every 20 ms, and as API calls (one ListExecutions per workflow) its polling took the
        interpreter's time from the executions it waits for."""
        from moto.stepfunctions.responses import get_backend

        count = 0
        for arn in self.state_machines().values():
            _, _, _, region, account, *_ = arn.split(":")
            executions = get_backend(account, region).describe_state_machine(arn).executions
            count += sum(1 for e in executions if e.status == "RUNNING")  # as ListExecutions(statusFilter) filters
        return count

    def history(self, execution_arn: str) -> list[dict]:
        sfn = self.client_of_arn(execution_arn)("stepfunctions")
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


class Waiter:
    """Until no execution runs (but those parked in a wait for the world to change, see CompressedClock) and no
    Lambda invocation is in progress."""

    def __init__(self, executions: ExecutionLog, lambdas, clock=None):
        self.executions, self.lambdas, self.clock = executions, lambdas, clock

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            parked = self.clock.parked() if self.clock is not None else 0
            if self.executions.running() <= parked and self.lambdas.idle():
                return
            time.sleep(0.02)
        raise TimeoutError(f"executions still running after {timeout:.0f} s")


def _list_executions(sfn, arn: str) -> list[dict]:
    out, kwargs = [], {"stateMachineArn": arn}
    while True:
        resp = sfn.list_executions(**kwargs)
        out += resp["executions"]
        if not resp.get("nextToken"):
            return out
        kwargs["nextToken"] = resp["nextToken"]


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
