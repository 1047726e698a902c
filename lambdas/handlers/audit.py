"""The audit function: a state machine's own audit row, appended to the hash chain (lambdas/logic/audit.py)."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lambdas import aws
from lambdas.deps import store as make_store
from lambdas.logic import audit
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    req = audit.parse(event)
    logger.set_correlation_id(req.execution_arn.rsplit(":", 1)[-1])
    settings = Settings.from_env()
    store = make_store(settings, datetime.now(UTC))
    row = audit.append(req, config=settings.customer, store=store, sfn=aws.client("stepfunctions"))
    metrics.add_metric(name="audit_rows", unit="Count", value=1)
    logger.info("audit row appended", extra={"pk": row["pk"], "sk": row["sk"], "chain_seq": row["chain_seq"]})
    return {"pk": row["pk"], "sk": row["sk"], "chain_seq": row["chain_seq"], "digest": row["digest"]}
