"""respond/admit: validate, classify, claim the incident, read the mode switch."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lambdas import aws, deps
from lambdas.logic.admit import admit
from lambdas.logic.incident_events import after_admit
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="event.id", clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    settings = Settings.from_env()
    try:
        # The workflow passes {"event": <the EventBridge event as delivered>}.
        raw = event.get("event") if isinstance(event, dict) and "event" in event else event
        decision = admit(
            raw,
            config=settings.customer,
            store=deps.store(settings, datetime.now(UTC)),
            ssm=aws.client("ssm"),
            mode_parameter=settings.mode_parameter,
            cloudwatch=aws.client("cloudwatch"),
            clients=aws.client,
        )
    except Exception as exc:
        logger.exception("event rejected")
        metrics.add_metric(name="events_rejected", unit="Count", value=1)
        raise exc
    logger.set_correlation_id(decision.incident_id)
    problem = after_admit(decision, aws.client("events"))  # the ops account hears of it; a failure is in the note
    if problem:
        logger.error("incident event not emitted", extra={"problem": problem})
        metrics.add_metric(name="incident_events_failed", unit="Count", value=1)
    logger.info("admitted", extra={"decision": decision.decision, "alarm": decision.alarm})
    metrics.add_metric(name=f"decision_{decision.decision}", unit="Count", value=1)
    return decision.to_json()
