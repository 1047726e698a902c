"""respond/page: trigger, resolve, or page "automation failed". Diagnosis is attached to triggers."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from catalog.kinds import KINDS
from lambdas import aws, deps
from lambdas.diagnosis import diagnose
from lambdas.errors import InvalidInput
from lambdas.logic.paging import Pager, outcome_of
from lambdas.models.steps import Decision, Outcome, parse_step
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="state.admit.incident_id", clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    settings = Settings.from_env()
    pager = Pager.from_settings(settings, datetime.now(UTC), execution=str(event.get("execution", "")))
    action, state = event.get("action"), event.get("state") or {}
    if action == "trigger":
        admit = parse_step(Decision, state.get("admit"), "page: admit's decision")
        diagnosis = diagnose(admit.kind, aws.client, settings.customer, admit.target)
        # a runbook that ran before the page (a safety net): the page carries its outcome
        ran = state.get("remediation")
        result = pager.trigger_alarm(admit, diagnosis, outcome_of(ran.get("Output")) if isinstance(ran, dict) else None)
    elif action == "resolve":
        restore = state.get("restore")
        result = pager.resolve(
            parse_step(Decision, state.get("admit"), "page: admit's decision"),
            parse_step(Outcome, restore, "page: the on-resolve step's answer") if restore else None,
        )
    elif action == "escalate":
        admit = parse_step(Decision, state.get("admit"), "page: admit's decision")
        given = state.get("recheck")
        recheck: dict[str, Any] = given if isinstance(given, dict) else {}
        done = str((state.get("record") or {}).get("message") or "")
        read = recheck.get("alarm")
        alarm: dict[str, Any] = read if isinstance(read, dict) else {}
        kind = KINDS.get(admit.kind)
        window = (
            deps.store(settings, datetime.now(UTC)).open_window(admit.target)
            if kind is not None and kind.maintenance_window
            else None
        )
        result = pager.escalate(
            admit,
            alarm_state=str(alarm.get("StateValue", "ALARM")),
            minutes=int(settings.customer.paging.recheck_minutes or 0),
            done=done[:500],
            window=window,
        )
    elif action == "automation_failed":
        result = pager.automation_failed(state, execution=str(event.get("execution", "")))
    else:
        raise InvalidInput(f"page: unknown action {action!r}; expected trigger, resolve, escalate or automation_failed")
    metrics.add_metric(name=f"page_{action}", unit="Count", value=1)
    logger.info("paged", extra={"action": action, "dedup_key": result.get("dedup_key")})
    return result
