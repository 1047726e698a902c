"""respond/record: write the outcome; page again when the runbook's outcome needs a person."""

from datetime import datetime, timezone

from lambdas import deps
from lambdas.logic.paging import Pager
from lambdas.logic.record import record
from lambdas.observability import logger, metrics
from lambdas.settings import Settings


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="state.admit.incident_id", clear_state=True)
def handler(event: dict, context) -> dict:
    settings = Settings.from_env()
    now = datetime.now(timezone.utc)
    result = record(event.get("state") or {}, store=deps.store(settings, now), pager=Pager.from_settings(settings, now),
                    execution=str(event.get("execution", "")), failed=bool(event.get("failed")))
    metrics.add_metric(name=f"outcome_{result['outcome']}", unit="Count", value=1)
    logger.info("recorded", extra={"record": result})
    return result
