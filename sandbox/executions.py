"""The executions the sandbox has seen, in a deterministic order, and waiting until none runs."""

import json
import threading
import time

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class ExecutionLog:
    """Every execution of the deployed state machines, ordered by start time, ties broken by the
    order in which the sandbox saw them start (start times tie: they have limited resolution)."""

    def __init__(self, client):
        self.client = client  # callable(service) -> a sandbox client
        self.state_machines: dict = {}  # name -> arn, set once deployed
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

    def all(self) -> list[dict]:
        sfn = self.client("stepfunctions")
        out = []
        for name, arn in self.state_machines.items():
            for e in sfn.list_executions(stateMachineArn=arn)["executions"]:
                d = sfn.describe_execution(executionArn=e["executionArn"])
                out.append({
                    "state_machine": name, "name": e["name"], "status": d["status"],
                    "input": _json(d.get("input")), "output": _json(d.get("output")),
                    "error": d.get("error"), "cause": d.get("cause"), "arn": d["executionArn"],
                    "started": e["startDate"].isoformat(),
                })
        return sorted(out, key=lambda e: (e["started"], self.seen_order(e["arn"])))

    def running(self) -> int:
        sfn = self.client("stepfunctions")
        return sum(len(sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"])
                   for arn in self.state_machines.values())

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


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
