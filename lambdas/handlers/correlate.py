"""ops/correlate: one incident event (or the recovery's recheck) -> the fleet table -> the P0 (logic/correlate.py)."""

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from catalog.customer import pagerduty_url_problem
from catalog.fleet import OpsConfig
from lambdas import aws
from lambdas.errors import ConfigurationError
from lambdas.logic import pagerduty
from lambdas.logic.correlate import Fleet, correlate, recheck
from lambdas.observability import logger, metrics

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _fleet(now: datetime) -> Fleet:
    try:
        ops = OpsConfig.model_validate_json(os.environ.get("OPS_CONFIG", ""))
    except ValidationError as exc:
        raise ConfigurationError(f"the function's environment is invalid: {exc}") from None
    problem = pagerduty_url_problem(ops.paging.pagerduty_events_url)
    if problem:
        raise ConfigurationError(f"refusing to page: {problem}")

    def routing_key() -> str:
        from aws_lambda_powertools.utilities import parameters

        return str(parameters.get_secret(ops.paging.pagerduty_secret_name, max_age=300))

    return Fleet(
        ops=ops,
        table=aws.resource_table(os.environ.get("TABLE_NAME", "")),
        sns=aws.client("sns"),
        topic_arn=os.environ.get("TOPIC_ARN", ""),
        send=pagerduty.send,
        routing_key=routing_key,
        now=now,
    )


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="event.id", clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    fleet = _fleet(datetime.now(UTC))
    if isinstance(event, dict) and "recheck" in event:
        result = recheck(event["recheck"], fleet)
    else:
        result = correlate(event.get("event") if isinstance(event, dict) else event, fleet)
    metrics.add_metric(name=f"fleet_{result['outcome'].replace('-', '_')}", unit="Count", value=1)
    logger.info("correlated", extra={"result": result})
    return result
