"""respond/record: write the outcome; page again when the runbook's outcome needs a person."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lambdas import aws, deps
from lambdas.logic.incident_events import after_record
from lambdas.logic.paging import Pager
from lambdas.logic.record import record
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="state.admit.incident_id", clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    settings = Settings.from_env()
    now = datetime.now(UTC)
    execution = str(event.get("execution", ""))
    store = deps.store(settings, now)
    result = record(
        event.get("state") or {},
        store=store,
        pager=Pager.from_settings(settings, now, execution=execution),
        execution=execution,
        failed=bool(event.get("failed")),
    )
    metrics.add_metric(name=f"outcome_{result.outcome}", unit="Count", value=1)
    problem = after_record(event.get("state") or {}, result, events=aws.client("events"), store=store, now=now)
    if problem:  # reported (log, metric, audit row), never raised: the incident is recorded
        logger.error("incident event not emitted", extra={"problem": problem})
        metrics.add_metric(name="incident_events_failed", unit="Count", value=1)
    logger.info("recorded", extra={"record": result.to_json()})
    return result.to_json()
