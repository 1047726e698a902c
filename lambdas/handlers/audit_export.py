"""The audit trail's daily export (its schedule rule invokes it): lambdas/logic/audit_export.py."""

import os
from typing import TYPE_CHECKING, Any

from catalog import naming
from lambdas import aws
from lambdas.errors import InvalidEvent
from lambdas.logic import audit_export
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    settings = Settings.from_env()
    at = event.get("time") if isinstance(event, dict) else None
    try:
        day = audit_export.day_before(str(at))
    except ValueError:
        raise InvalidEvent(f"audit export: the event's time {str(at)[:40]!r} is not an ISO time; nothing was exported") from None
    bucket = os.environ.get("AUDIT_EXPORT_BUCKET") or naming.audit_export_bucket(
        settings.customer.customer, settings.customer.account
    )
    result = audit_export.export_day(aws.resource_table(settings.table_name), aws.client("s3"), bucket=bucket, day=day)
    metrics.add_metric(name="audit_rows_exported", unit="Count", value=result["rows"])
    logger.info("audit trail exported", extra=result)
    return result
