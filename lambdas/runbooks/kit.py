"""The runbook kit: what every runbook shares, written once.

A runbook module (``lambdas/runbooks/<name>.py``) holds its plan (a ``PlanBase``) and its guard / act /
verify logic, each a function of its input or plan that names what it needs as keyword parameters
(``settings``, ``now``, ``store``, ``ecs``, ``s3`` ...). It declares its steps with ``guard``, ``act``,
``verify`` and ``step`` and gets its Lambda entry point from ``handler``. The kit does the rest:

- the environment (``Settings``), the clients and the table, handed to a step by parameter name;
- parsing: the input with the runbook's model, a plan with its model or the runbook's ``check``;
- the mode rule (``run_mode``): the switch is always read, the stricter mode applies, dry-run is honoured;
- the one path every step that changes something takes (``_change``): its plan was checked against the
  configuration again, and the mode switch is read again first, so a switch turned off (or to dry-run) after
  guard changes nothing; a runbook that asks for approval changes nothing without the proof of it (its running
  execution, per Step Functions, and the answer function's verified record for exactly this plan);
- logging, metrics and ``to_json``.
"""

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from botocore.exceptions import ClientError
from pydantic import ValidationError

from catalog import proofs
from catalog.customer import CustomerConfig, Mode
from catalog.declaration import Runbook, RunbookInput
from catalog.validation import describe
from lambdas import aws
from lambdas.errors import ApprovalNotProven, InvalidInput, RemediationError
from lambdas.logic import executions
from lambdas.logic.mode import read_mode, strictest
from lambdas.models.steps import PlanBase, StepModel, parse_step
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotations: importing them costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from lambdas.logic.store import Store


Plan = TypeVar("Plan", bound=PlanBase)


def end(plan: Plan, outcome: str, message: str) -> Plan:
    """The plan ends here with ``outcome``: it does not proceed, nothing is verified."""
    plan.proceed, plan.outcome, plan.message = False, outcome, message
    return plan


# --- the mode rule ----------------------------------------------------------------------------------------


class RunMode(NamedTuple):
    mode: Mode  # the strictest of the switch and the modes asked for
    dry_run: bool  # asked for, or the mode is dry-run
    note: str  # why the switch could not be read, if it could not
    switch: Mode  # what the switch said

    def off_source(self, parameter: str) -> str:
        """Who turned it off, in the operator's words."""
        return f"{parameter} = off" if self.switch == "off" else "the input's mode is off"


def run_mode(ssm: Any, parameter: str, *asked: Mode | None, dry_run: bool = False) -> RunMode:
    """The switch is always read: a mode asked for (by respond, by hand) can make the run stricter, never
    looser; an unreadable switch counts as dry-run."""
    switch, note = read_mode(ssm, parameter)
    mode = strictest(switch, *asked)
    return RunMode(mode, dry_run or mode == "dry-run", note, switch)


# --- parsing ----------------------------------------------------------------------------------------------

# Keys Step Functions adds to a child execution's input; not part of any runbook's input.
_STEP_FUNCTIONS_KEYS = ("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID", proofs.REQUESTER_KEY)


def parse_input(runbook: Runbook, raw: object) -> RunbookInput:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{runbook.name} input must be a JSON object like {runbook.example_input}")
    data = {k: v for k, v in raw.items() if k not in _STEP_FUNCTIONS_KEYS}
    try:
        parsed: RunbookInput = runbook.input_model.model_validate(data)
        return parsed
    except ValidationError as exc:
        raise InvalidInput(describe(exc, f"invalid {runbook.name} input (example: {runbook.example_input})")) from None


def started_at(runbook: Runbook, value: object) -> datetime:
    """The execution's start time ($$.Execution.StartTime), which guard needs to name what it makes."""
    try:
        started = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{runbook.name}: guard needs the execution's start time (the state machine passes "
            f"$$.Execution.StartTime), got {str(value)[:100]!r}"
        ) from None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


# --- one invocation: what a step may ask for by name ------------------------------------------------------

# parameter name -> boto3 service, where they differ
_SERVICES = {"aas": "application-autoscaling", "lambda_": "lambda"}
_CLIENTS = ("ecs", "aas", "ssm", "rds", "s3", "dynamodb", "lambda_", "sns")


@dataclass
class Call:
    """One invocation of a step: the event, the time, and what the function's environment gives it."""

    runbook: Runbook
    event: dict[str, Any]
    now: datetime
    approval: dict[str, Any] | None = None  # who approved: given to act, kept with every later plan

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    @property
    def config(self) -> CustomerConfig:
        return self.settings.customer

    @property
    def execution(self) -> str:
        return str(self.event.get("execution") or "")

    @property
    def table(self) -> Any:
        return aws.resource_table(self.settings.table_name)

    @cached_property
    def store(self) -> "Store":
        from lambdas.logic.store import Store  # loaded by the steps that use the table, not at cold start

        return Store(self.table, self.now)

    def client(self, name: str) -> Any:
        return aws.client(_SERVICES.get(name, name))

    def provide(self, name: str, annotation: object) -> Any:
        if name in _CLIENTS:
            return self.client(name)
        if name == "clients":
            return aws.client
        if name == "started":  # a datetime when the step needs one, else the text as given
            raw = self.event.get("started")
            if annotation is datetime:
                return started_at(self.runbook, raw)
            return raw if isinstance(raw, str) else None
        if name == "approved_by":
            return str(self.approval.get("by", "")) if self.approval else ""
        return getattr(self, name)


_PROVIDED = frozenset(
    {
        *_CLIENTS,
        "clients",
        "started",
        "approved_by",
        "settings",
        "config",
        "execution",
        "table",
        "store",
        "now",
        "approval",
        "event",
    }
)


def _needs(fn: Callable[..., Any]) -> dict[str, object]:
    """The keyword parameters of ``fn`` the kit provides, with their annotations; the first parameter is the
    input or the plan. A parameter it cannot provide must have a default (found when the module loads)."""
    params = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]
    needs = {}
    for p in params:
        if p.name in _PROVIDED:
            needs[p.name] = p.annotation
        elif p.default is inspect.Parameter.empty:
            raise TypeError(f"{fn.__qualname__}: the kit cannot provide parameter {p.name!r}")
    return needs


# --- steps ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A step of a runbook's Lambda, as its module declares it (``guard``, ``act``, ``verify``, ``step``)."""

    fn: Callable[..., Any]
    reads: Literal["input", "plan", "event"]
    # the guard's checks of the plan against the configuration (a forged plan is refused); else the plan's model
    check: Callable[[object, CustomerConfig], PlanBase] | None = None
    changes: bool = False  # it changes something: it takes the one path that re-checks before a change
    recheck_mode: bool = True  # a changing step re-reads the mode switch first
    # it only puts back what an earlier step changed once its approval was proven (e.g. recorded counts): it asks
    # for no proof of its own (its plan is that step's, not the one approved)
    approved_by_earlier_step: bool = False
    needs: dict[str, object] = field(default_factory=dict)
    what: str = ""  # names the plan in a refusal: "verify: the plan act returned"


def guard(fn: Callable[..., StepModel]) -> Step:
    """Reads the runbook's input (parsed with its model) and returns the plan."""
    return Step(fn, "input", needs=_needs(fn))


def act(
    fn: Callable[..., StepModel],
    *,
    check: Callable[[object, CustomerConfig], PlanBase] | None = None,
    recheck_mode: bool = True,
    approved_by_earlier_step: bool = False,
    what: str = "act: the plan guard returned",
) -> Step:
    """Changes something, as the plan says: only after the plan was checked again, and the mode switch."""
    return Step(
        fn,
        "plan",
        check=check,
        changes=True,
        recheck_mode=recheck_mode,
        approved_by_earlier_step=approved_by_earlier_step,
        needs=_needs(fn),
        what=what,
    )


def verify(
    fn: Callable[..., StepModel],
    *,
    check: Callable[[object, CustomerConfig], PlanBase] | None = None,
    what: str = "verify: the plan act returned",
) -> Step:
    """Reads what act did and says whether it settled; it changes nothing the plan did not."""
    return Step(fn, "plan", check=check, needs=_needs(fn), what=what)


def step(fn: Callable[..., Any], *, changes: bool = False) -> Step:
    """A step of its own shape: ``fn(call)`` reads the event itself (a phase, the children's outcomes ...).
    ``changes``: it changes something (e.g. puts back what the runbook changed): it runs through ``_change``."""
    return Step(fn, "event", changes=changes, recheck_mode=False)


def _plan(call: Call, s: Step, model: type[PlanBase]) -> PlanBase:
    raw = call.event.get("plan")
    if s.check is not None:
        return s.check(raw, call.config)
    return parse_step(model, raw, s.what)


def _change(call: Call, s: Step, plan: PlanBase | None, do: Callable[[], Any]) -> Any:
    """Every step that changes something runs through here, and only here does it change anything: the plan was
    checked against the configuration again (``check``), the mode switch is read again, and a runbook that asks for
    approval proves it, against state the caller cannot forge."""
    if plan is not None and s.recheck_mode and call.runbook.reads_mode:
        held = _mode_holds_back(call, plan)
        if held is not None:
            return held
    if plan is not None and call.runbook.approval and not s.approved_by_earlier_step:
        refused = _approval_not_proven(call, plan)
        if refused is not None:
            return refused
    return do()


def _approval_not_proven(call: Call, plan: PlanBase) -> PlanBase | None:
    """The approval holds only when Step Functions says the caller is this runbook's running execution and the
    answer function's verified record approves exactly this plan (its digest, taken when the approval was asked),
    by enough named approvers, none of them the requester. Else: refused, an audit row, a page to security."""
    from lambdas.logic import approvals  # only a change that needs an approval loads its checks

    arn = call.event.get("execution_arn")
    try:
        executions.confirm(call.client("stepfunctions"), arn, config=call.config, workflow=call.runbook.name)
        record = approvals.verified_answer(call.store, str(arn))
        if record is None:
            raise ApprovalNotProven(
                f"no verified answer approves execution {str(arn).rsplit(':', 1)[-1]} (an answer "
                "counts only through the answer function)"
            )
        if record.get("answer") != "approved":
            raise ApprovalNotProven(f"the verified answer is {record.get('answer')}, not approved")
        if record.get("plan_digest") != proofs.plan_digest(call.event.get("plan")):
            raise ApprovalNotProven("the plan is not the one that was approved (its digest differs)")
        rules = call.config.approvals
        approvers = [str(a) for a in record.get("approvers") or []]
        counted = {a for a in approvers if proofs.matches(a, rules.approvers) and a != record.get("requester")}
        if len(counted) < rules.min_approvals:
            raise ApprovalNotProven(
                f"{len(counted)} named approver(s) other than the requester approved, {rules.min_approvals} must"
            )
    except ApprovalNotProven as exc:
        return _refuse(call, plan, str(exc))
    call.approval = {
        "answer": "approved",
        "by": ", ".join(approvers),
        "approvers": approvers,
        "comment": str(record.get("comment") or ""),
        "at": str(record.get("at") or ""),
        "requested": str(record.get("requested") or ""),
        "requester": str(record.get("requester") or ""),
        "verified": True,
        **({"message": call.approval["message"]} if call.approval and "message" in call.approval else {}),
    }
    return None


def _refuse(call: Call, plan: PlanBase, reason: str) -> PlanBase:
    held = plan.model_copy(deep=True)
    held.verify, held.settled = False, True
    end(held, "refused", f"{call.runbook.name} asks for approval and has no proof of it: {reason}; nothing was changed")
    arn = call.event.get("execution_arn")
    subject = str(arn).rsplit(":", 1)[-1] if isinstance(arn, str) and arn else f"direct-{call.runbook.name}"
    call.store.audit(
        subject[:200],
        "act_refused",
        {"runbook": call.runbook.name, "execution_arn": arn, "reason": reason, "plan": call.event.get("plan")},
    )
    from lambdas.logic.paging import Pager  # only on this path: it costs cold start

    try:
        Pager.from_settings(call.settings, call.now).security_refusal(
            subject=f"{call.runbook.name}/{subject}",
            summary=f"{call.runbook.name} act refused: {reason}",
            details={"runbook": call.runbook.name, "execution_arn": arn, "reason": reason, "incident_id": plan.incident_id},
        )
    except RemediationError as exc:  # the refusal stands; the audit row has it
        logger.error("the security page about a refused act could not be sent", extra={"error": str(exc)})
    metrics.add_metric(name="act_refused_unapproved", unit="Count", value=1)
    return held


def _mode_holds_back(call: Call, plan: PlanBase) -> PlanBase | None:
    """The switch is read again where the change happens: stricter now than when guard planned (turned off,
    or to dry-run, e.g. while an approval was pending), nothing is changed. A dry-run plan changes nothing."""
    if plan.dry_run:
        return None
    now = run_mode(call.client("ssm"), call.settings.mode_parameter, plan.mode)
    if now.mode == plan.mode:
        return None
    held = plan.model_copy(deep=True)
    held.verify, held.settled = False, True
    held.mode = now.mode  # the output says the mode read where the change would have happened
    end(
        held,
        "refused",
        f"skipped: the mode switch {call.settings.mode_parameter} is {now.switch} now, read before the change "
        f"(guard planned in {plan.mode})" + (f"; {now.note}" if now.note else "") + ": nothing was changed",
    )
    if call.runbook.approval:  # a person approved it: say that it was not done, or the approval reads as done
        arn = call.event.get("execution_arn")
        execution = str(arn).rsplit(":", 1)[-1] if isinstance(arn, str) and arn else call.execution
        from lambdas.logic.paging import Pager  # only on this path: it costs cold start

        try:
            Pager.from_settings(call.settings, call.now).held_back(
                runbook=call.runbook.name, execution=execution, incident_id=plan.incident_id, summary=str(held.message)
            )
        except (RemediationError, ClientError) as exc:  # the skip stands; its outcome says so
            logger.error("the status update about a skipped change could not be sent", extra={"error": str(exc)})
    metrics.add_metric(name="act_held_back_by_mode", unit="Count", value=1)
    return held


def _arguments(call: Call, s: Step) -> dict[str, Any]:
    return {name: call.provide(name, annotation) for name, annotation in s.needs.items()}


def _run(call: Call, s: Step, model: type[PlanBase]) -> dict[str, Any]:
    if s.reads == "input":
        inp = parse_input(call.runbook, call.event.get("input"))
        result = s.fn(inp, **_arguments(call, s))
    elif s.reads == "plan":  # the plan is checked against the configuration again (or parsed with its model)
        plan = _plan(call, s, model)
        result = (
            _change(call, s, plan, lambda: s.fn(plan, **_arguments(call, s))) if s.changes else s.fn(plan, **_arguments(call, s))
        )
    else:
        result = _change(call, s, None, lambda: s.fn(call)) if s.changes else s.fn(call)
    return result.to_json() if isinstance(result, StepModel) else dict(result)


Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def handler(runbook: Runbook, plan: type[PlanBase], **steps: Step) -> Handler:
    """The runbook's Lambda entry point: dispatches on the state machine's ``step`` field."""

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
        name = event.get("step") if isinstance(event, dict) else None
        if not isinstance(name, str) or name not in steps:
            raise InvalidInput(f"{runbook.name}: unknown step {name!r}; expected one of {', '.join(steps)}")
        raw_plan = event.get("plan")
        incident = raw_plan.get("incident_id") if isinstance(raw_plan, dict) else None  # a forged plan fails in act
        logger.set_correlation_id(incident or event.get("execution") or os.environ.get("_X_AMZN_TRACE_ID"))
        logger.append_keys(runbook=runbook.name, step=name)
        # Who approved (a runbook that asks for approval): given to act, kept with every later plan and in the
        # output; a step's own logic sees it only when it asks for ``approval``.
        approval = event.get("approval")
        if isinstance(raw_plan, dict) and "approval" in raw_plan:
            raw_plan = dict(raw_plan)
            approval = raw_plan.pop("approval")
            event = {**event, "plan": raw_plan}
        call = Call(runbook, event, datetime.now(UTC), approval if isinstance(approval, dict) else None)
        result = _run(call, steps[name], plan)
        if call.approval is not None:  # act replaced what it was told with the verified record
            result["approval"] = call.approval
        metrics.add_metric(name=f"step_{name}", unit="Count", value=1)
        logger.info("step done", extra={"outcome": result.get("outcome"), "detail": result.get("message")})
        if result.get("outcome"):
            metrics.add_dimension(name="runbook", value=runbook.name)
            metrics.add_metric(name=f"outcome_{result['outcome']}", unit="Count", value=1)
        return result

    return handle
