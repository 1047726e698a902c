"""Follow one execution: its steps as they are entered and left (GetExecutionHistory), a spinner during long
waits when the output is a terminal, and its outcome. It returns when the execution ends, or when it waits
for a person (an approval, a maintenance window's "done"): then it says how to answer."""

import itertools
import json
import time
from typing import Any, TextIO

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
WAITING = "WAITING_FOR_APPROVAL"  # not a Step Functions status: the execution is RUNNING, a task token is out
SPINNER = "|/-\\"


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        resp = sfn.get_execution_history(**kwargs)
        events.extend(resp["events"])
        if not resp.get("nextToken"):
            return events
        kwargs["nextToken"] = resp["nextToken"]


def _outcome_of(output: str | None) -> str:
    """What a step left behind, in a few words: the plan's outcome, if it has one."""
    try:
        state = json.loads(output or "")
    except ValueError:
        return ""
    plan = state.get("plan") if isinstance(state, dict) else None
    if isinstance(plan, dict) and plan.get("outcome"):
        return f" -> {plan['outcome']}"
    return ""


class Progress:
    """Turns new history events into lines; remembers the current state and whether a task token is out."""

    def __init__(self, out: TextIO):
        self.out = out
        self.seen = 0
        self.start: Any = None
        self.current = ""
        self.kind = ""
        self.waiting_token = ""  # the state that waits for a task token, while it does

    def feed(self, events: list[dict[str, Any]]) -> bool:
        """Print what is new; True when anything was."""
        new = [e for e in events if e["id"] > self.seen]
        for e in new:
            self.seen = e["id"]
            self.start = self.start or e["timestamp"]
            at = (e["timestamp"] - self.start).total_seconds()
            kind = e["type"]
            if kind.endswith("StateEntered"):
                self.current = e["stateEnteredEventDetails"]["name"]
                self.kind = kind.removesuffix("StateEntered")
                self._line(at, f"> {self.current}" + (" (waiting)" if self.kind == "Wait" else ""))
            elif kind.endswith("StateExited"):
                details = e["stateExitedEventDetails"]
                self._line(at, f"< {details['name']}{_outcome_of(details.get('output'))}")
                self.waiting_token = ""
            elif kind == "TaskScheduled" and \
                    e.get("taskScheduledEventDetails", {}).get("resource", "").endswith("waitForTaskToken"):
                self.waiting_token = self.current
            elif kind in ("TaskSucceeded", "TaskFailed", "TaskTimedOut"):
                self.waiting_token = ""
        return bool(new)

    def _line(self, at: float, text: str) -> None:
        self.out.write(f"{at:8.1f}s  {text}\n")
        self.out.flush()


def watch(sfn: Any, arn: str, out: TextIO, *, poll_seconds: float, deadline_seconds: float,
          sleep: Any = time.sleep) -> dict[str, Any]:
    """Follow the execution until it ends, waits for a person, or ``deadline_seconds`` pass. Returns
    {executionArn, status, output | error+cause, waiting_in (when it waits for a person)}."""
    progress = Progress(out)
    tty = out.isatty()
    spin = itertools.cycle(SPINNER)
    started = time.monotonic()
    while True:
        described = sfn.describe_execution(executionArn=arn)
        events = history(sfn, arn)
        if tty:
            out.write("\r\033[K")  # clear the spinner's line before anything else is printed
        progress.feed(events)
        status = described["status"]
        if status in TERMINAL:  # read again: history written after the first read is shown too
            progress.feed(history(sfn, arn))
            return _result(sfn.describe_execution(executionArn=arn))
        if progress.waiting_token:
            result = _result(described)
            result["status"], result["waiting_in"] = WAITING, progress.waiting_token
            return result
        if time.monotonic() - started > deadline_seconds:
            return _result(described)
        if tty:  # a live line, rewritten in place; plain output gets none
            out.write(f"{next(spin)} {progress.current} ({time.monotonic() - started:.0f}s)")
            out.flush()
        sleep(poll_seconds)


def _result(described: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"executionArn": described["executionArn"], "status": described["status"]}
    if described.get("output"):
        result["output"] = json.loads(described["output"])
    if described.get("error"):
        result["error"], result["cause"] = described["error"], described.get("cause")
    return result


def summary(result: dict[str, Any]) -> str:
    """One line: the status and the outcome with its message, or the error."""
    out = result.get("output") if isinstance(result.get("output"), dict) else {}
    line = result["status"]
    if out.get("outcome"):
        line += f": outcome {out['outcome']}"
    if out.get("message"):
        line += f": {out['message']}"
    if result.get("error"):
        line += f": {result['error']}: {result.get('cause') or ''}".rstrip(": ")
    return line
