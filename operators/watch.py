"""Follow one execution: one line per step (GetExecutionHistory), a spinner during long waits when the output is
a terminal, and its outcome. It returns when the execution ends, or when it waits for a person (an approval, a
maintenance window's "done"): then it says how to answer."""

import itertools
import json
import math
import time
from typing import Any, TextIO

from operators.output import short, short_time

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
WAITING = "WAITING_FOR_APPROVAL"  # not a Step Functions status: the execution is RUNNING, a task token is out
SPINNER = "|/-\\"
WAITING_GRACE_SECONDS = 1.0


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        resp = sfn.get_execution_history(**kwargs)
        events.extend(resp["events"])
        if not resp.get("nextToken"):
            return events
        kwargs["nextToken"] = resp["nextToken"]


def _state(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None


def _outcome_of(state: Any) -> str:
    """What a step left behind, in a few words: the plan's outcome, if it has one."""
    plan = state.get("plan") if isinstance(state, dict) else None
    return str(plan["outcome"]) if isinstance(plan, dict) and plan.get("outcome") else ""


def _error_text(error: str, cause: str | None) -> str:
    """An error and its cause in one short line: a Lambda's cause is JSON with its errorMessage."""
    parsed = _state(cause)
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else cause
    return short(f"{error}: {message}" if message else error, 200)


# Step Functions' events that end a task attempt (a Lambda step, a service integration)
FAILED_EVENTS = {
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
}
# how a wait for a person ends without an approval (the workflow goes on: the runbook's outcome is rejected)
ANSWERS = {"Rejected": "-> rejected", "States.Timeout": "-> no answer in time"}
QUIET = ("Choice", "Succeed", "Fail")  # a decision, or the end (the summary line says how it ended)


class Progress:
    """Turns new history events into one line per step: a task (a Lambda step: Guard, Act, Verify, Report ...)
    when it ends, with the outcome it set (when it set one) or its error; a wait, and a wait for a person, when
    it begins; a Pass state only when it sets an outcome. Remembers the current state and whether a task token
    is out."""

    def __init__(self, out: TextIO):
        self.out = out
        self.seen = 0
        self.current = ""
        self.kind = ""
        self.entered: Any = None
        self.outcome_before = ""
        self.failure = ""  # the current task's last failed attempt (a retry that succeeds clears it)
        self.waiting_token = ""  # the state that waits for a task token, while it does

    def feed(self, events: list[dict[str, Any]]) -> bool:
        """Print what is new; True when anything was."""
        new = [e for e in events if e["id"] > self.seen]
        for e in new:
            self.seen = e["id"]
            kind = e["type"]
            if kind.endswith("StateEntered"):
                details = e["stateEnteredEventDetails"]
                self.current, self.kind, self.entered = details["name"], kind.removesuffix("StateEntered"), e["timestamp"]
                self.outcome_before, self.failure = _outcome_of(_state(details.get("input"))), ""
                if self.kind == "Wait":
                    self._line(e["timestamp"], f"{self.current} (waiting)")
            elif kind.endswith("StateExited"):
                self._exited(e)
                self.waiting_token = ""
            elif kind == "TaskScheduled" and e.get("taskScheduledEventDetails", {}).get("resource", "").endswith(
                "waitForTaskToken"
            ):
                self.waiting_token = self.current
                self._line(e["timestamp"], f"{self.current} (waiting for an answer)")
            elif kind in FAILED_EVENTS:
                details = e.get(FAILED_EVENTS[kind]) or {}
                error = str(details.get("error") or kind)
                self.failure = ANSWERS.get(error) or f"failed: {_error_text(error, details.get('cause'))}"
                self.waiting_token = ""
            elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
                self.failure = ""
                self.waiting_token = ""
        return bool(new)

    def _exited(self, e: dict[str, Any]) -> None:
        details = e["stateExitedEventDetails"]
        name, kind = details["name"], self.kind
        if kind in QUIET or kind == "Wait":
            return
        state = _state(details.get("output"))
        outcome = _outcome_of(state)
        if outcome == self.outcome_before:
            outcome = ""  # a step that did not change the plan (Report, RecordAnswer) has no outcome of its own
        if kind == "Pass" and not outcome:
            return  # it only reshaped the input
        took = f" ({(e['timestamp'] - self.entered).total_seconds():.1f}s)" if self.entered is not None else ""
        if self.failure:
            text = f"{name} {self.failure}"
        elif isinstance(state, dict) and isinstance(state.get("error"), dict):
            text = f"{name} -> failed"  # the failure path (ReportFailure): the step above says what failed
        else:
            text = name + (f" -> {outcome}" if outcome else "")
        self._line(e["timestamp"], text + took)

    def _line(self, at: Any, text: str) -> None:
        self.out.write(f"{short_time(at)}  {text}\n")
        self.out.flush()


def watch(
    sfn: Any, arn: str, out: TextIO, *, poll_seconds: float, deadline_seconds: float, sleep: Any = time.sleep
) -> dict[str, Any]:
    """Follow the execution until it ends, waits for a person, or ``deadline_seconds`` pass. Returns
    {executionArn, status, output | error+cause, waiting_in (when it waits for a person)}."""
    progress = Progress(out)
    tty = out.isatty()
    spin = itertools.cycle(SPINNER)
    started = time.monotonic()
    waiting_polls = 0
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
        # a wait for a person is reported once it lasts (about a second of polls): an answer just sent takes a
        # moment to show in the history, and a watch right after an approve must follow what it resumes
        waiting_polls = waiting_polls + 1 if progress.waiting_token else 0
        if waiting_polls >= max(2, math.ceil(WAITING_GRACE_SECONDS / max(poll_seconds, 0.001))):
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
