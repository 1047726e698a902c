"""respond/page: trigger, resolve, or page "automation failed". Diagnosis is attached to triggers."""

from datetime import datetime, timezone

from lambdas import aws
from lambdas.errors import InvalidInput
from lambdas.diagnosis import diagnose
from lambdas.logic.paging import Pager
from lambdas.observability import logger, metrics
from lambdas.settings import Settings


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="state.admit.incident_id", clear_state=True)
def handler(event: dict, context) -> dict:
    settings = Settings.from_env()
    pager = Pager.from_settings(settings, datetime.now(timezone.utc))
    action, state = event.get("action"), event.get("state") or {}
    if action == "trigger":
        admit = state["admit"]
        diagnosis = diagnose(admit["kind"], aws.client, settings.customer, admit["target"])
        result = pager.trigger_alarm(admit, diagnosis)
    elif action == "resolve":
        result = pager.resolve(state["admit"], state.get("restore"))
    elif action == "automation_failed":
        result = pager.automation_failed(state, execution=str(event.get("execution", "")))
    else:
        raise InvalidInput(f"page: unknown action {action!r}; expected trigger, resolve or automation_failed")
    metrics.add_metric(name=f"page_{action}", unit="Count", value=1)
    logger.info("paged", extra={"action": action, "dedup_key": result.get("dedup_key")})
    return result
