"""The answer function: a person's answer to a pending approval, with the proof of who they are (the CLI invokes it,
lambda:InvokeFunction, IAM-authenticated). See lambdas/logic/answers.py."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lambdas import aws
from lambdas.deps import store as make_store
from lambdas.errors import RemediationError
from lambdas.logic import answers
from lambdas.logic.paging import Pager
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    req = answers.parse(event)
    settings = Settings.from_env()
    now = datetime.now(UTC)
    store = make_store(settings, now)
    name = req.execution.rsplit(":", 1)[-1]
    logger.set_correlation_id(name)
    try:
        result = answers.answer(req, config=settings.customer, store=store, sfn=aws.client("stepfunctions"), now=now)
    except answers.Refused as exc:
        # who tried what is the security team's to judge; the caller is told why (the error)
        store.audit(
            name,
            "answer_refused",
            {"execution_arn": req.execution, "answer": req.answer, "by": exc.caller or "unproven", "reason": str(exc)},
        )
        if exc.security:  # an identity STS vouched for: someone real tried an answer they may not give
            try:
                Pager.from_settings(settings, now).security_refusal(
                    subject=f"answer/{name}",
                    summary=f"answer refused: {exc}",
                    details={"execution": req.execution, "answer": req.answer, "by": exc.caller},
                )
            except RemediationError as failed:  # the refusal stands (and says why); the audit row has it
                logger.error("the security page about a refused answer could not be sent", extra={"error": str(failed)})
        metrics.add_metric(name="answer_refused", unit="Count", value=1)
        logger.warning("answer refused", extra={"reason": str(exc), "by": exc.caller})
        raise
    metrics.add_metric(name=f"answer_{result['answer']}", unit="Count", value=1)
    logger.info("answer recorded", extra={"answer": result["answer"], "by": result.get("by")})
    return result
