"""Runbook Lambdas: one module per runbook, named after it, exposing guard / act / verify.

``runbook_handler`` builds the thin Lambda entry point that dispatches on the state machine's
``step`` field, so every runbook has the same shape: guard -> act -> verify (poll) -> report.
"""

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from catalog import Runbook
from catalog.runbooks import RunbookInput
from catalog.validation import describe
from lambdas.errors import InvalidInput
from lambdas.observability import logger, metrics

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A step at the Lambda edge: the event's JSON in, the step's model dumped to JSON out.
Step = Callable[[dict[str, Any], datetime], dict[str, Any]]
Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]

# Keys Step Functions adds to a child execution's input; not part of any runbook's input.
_STEP_FUNCTIONS_KEYS = ("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID",)


def parse_input(runbook: Runbook, raw: object) -> RunbookInput:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{runbook.name} input must be a JSON object like {runbook.example_input}")
    data = {k: v for k, v in raw.items() if k not in _STEP_FUNCTIONS_KEYS}
    try:
        parsed: RunbookInput = runbook.input_model.model_validate(data)
        return parsed
    except ValidationError as exc:
        raise InvalidInput(describe(exc, f"invalid {runbook.name} input (example: {runbook.example_input})")) from None


Input = TypeVar("Input", bound=RunbookInput)


def guard_input(runbook: Runbook, event: dict[str, Any], model: type[Input]) -> Input:
    """The guard step's input, parsed with the runbook's own model (``model`` is runbook.input_model)."""
    inp = parse_input(runbook, event.get("input"))
    if not isinstance(inp, model):
        raise InvalidInput(f"{runbook.name}: input parsed as {type(inp).__name__}, not {model.__name__}")
    return inp


def runbook_handler(runbook: Runbook, steps: dict[str, Step]) -> Handler:
    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
        step = event.get("step") if isinstance(event, dict) else None
        if step not in steps:
            raise InvalidInput(f"{runbook.name}: unknown step {step!r}; expected one of {', '.join(steps)}")
        plan = event.get("plan")
        incident = plan.get("incident_id") if isinstance(plan, dict) else None  # a forged plan fails in act
        logger.set_correlation_id(incident or event.get("execution") or os.environ.get("_X_AMZN_TRACE_ID"))
        logger.append_keys(runbook=runbook.name, step=step)
        # Who approved (a runbook that asks for approval): given to act, kept with every later plan and in the
        # output; a step's own logic never sees it, so plans stay what each runbook declares.
        approval = event.get("approval")
        if isinstance(plan, dict) and "approval" in plan:
            plan = dict(plan)
            approval = plan.pop("approval")
            event = {**event, "plan": plan}
        result = steps[step](event, datetime.now(UTC))
        if isinstance(approval, dict):
            result["approval"] = approval
        metrics.add_metric(name=f"step_{step}", unit="Count", value=1)
        logger.info("step done", extra={"outcome": result.get("outcome"), "detail": result.get("message")})
        if result.get("outcome"):
            metrics.add_dimension(name="runbook", value=runbook.name)
            metrics.add_metric(name=f"outcome_{result['outcome']}", unit="Count", value=1)
        return result

    return handler
