"""A runbook's approval step: request (store the task token, tell the approvers), answered (record the verified
answer or the time-out), notify (tell the declared teams of the outcome). request and answered take calls only from
the state machine's own execution, at that step. See lambdas/logic/approvals.py."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from catalog import naming, proofs
from catalog import runbook as declared_runbook
from lambdas import aws
from lambdas.deps import store as make_store
from lambdas.errors import IdentityNotProven, InvalidInput
from lambdas.logic import approvals, executions, identity
from lambdas.logic.paging import Pager, outcome_of
from lambdas.observability import logger, metrics
from lambdas.settings import Settings

if TYPE_CHECKING:  # only for the annotation: importing it costs cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _text(event: dict[str, Any], key: str, limit: int = 1000) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"approval: {key!r} must be a non-empty string; nothing was changed")
    return value[:limit]


def _requester(event: dict[str, Any], settings: Settings, execution: str, now: datetime) -> str:
    """Who started the run: verified from the proof the CLI put into its input, else "unverified"."""
    given = event.get("execution_input")
    proof = given.get(proofs.REQUESTER_KEY) if isinstance(given, dict) else None
    if proof is None:
        return proofs.UNVERIFIED
    config = settings.customer
    machine = naming.state_machine_name(config.customer, str(event.get("runbook")))
    try:  # STS's own limit on a signature's age: the request comes seconds after the start
        caller = identity.verify(
            proof,
            region=config.region,
            purpose=proofs.request_purpose(config.customer, machine, execution),
            now=now,
            max_age=timedelta(minutes=15),
        )
    except IdentityNotProven as exc:
        logger.warning("the starter's proof does not hold: requester unverified", extra={"reason": str(exc)})
        return proofs.UNVERIFIED
    return caller.arn if caller.account == config.account else proofs.UNVERIFIED


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="execution", clear_state=True)
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    if not isinstance(event, dict):
        raise InvalidInput("approval: the event must be a JSON object")
    step = event.get("step")
    rb = declared_runbook(_text(event, "runbook", 100))
    execution = _text(event, "execution", 100)
    settings = Settings.from_env()
    now = datetime.now(UTC)
    store = make_store(settings, now)
    pager = Pager.from_settings(settings, now)
    logger.append_keys(runbook=rb.name, step=step)
    kind = "approval"
    if step in ("request", "answered"):  # only the state machine's own execution, at that very step
        confirmed = executions.confirm(
            aws.client("stepfunctions"),
            event.get("execution_arn"),
            config=settings.customer,
            workflow=rb.name,
            at=naming.REQUEST_STATES if step == "request" else naming.ANSWERED_STATES,
        )
        arn, kind = confirmed["executionArn"], naming.WAIT_KINDS[str(confirmed["state"])]
        if arn.rsplit(":", 1)[-1] != execution:
            raise InvalidInput(f"approval: execution {execution!r} is not the one of {arn}")
    if step == "request":
        # a maintenance window's "done" is answered like an approval; it waits until the window's end
        if (kind == "approval" and not rb.approval) or (kind == "done" and rb.workflow != "maintenance"):
            raise InvalidInput(f"approval: runbook {rb.name} does not wait for {kind}")
        summary = _text(event, "summary")
        given = event.get("timeout_seconds")
        timeout = (
            -(-given // 60)
            if isinstance(given, int) and not isinstance(given, bool) and 0 < given <= 86400
            else settings.customer.approvals.timeout_minutes
        )
        item = approvals.store_pending(
            store,
            runbook=rb.name,
            execution=execution,
            execution_arn=arn,
            token=_text(event, "token", 4096),
            summary=summary,
            timeout_minutes=timeout,
            kind=kind,
            plan_digest=proofs.plan_digest(event.get("plan")),
            requester=_requester(event, settings, execution, now),
        )
        try:
            note = pager.approval_request(
                runbook=rb.name,
                execution=execution,
                summary=summary,
                expires=item["expires"],
                how=approvals.commands(settings.customer, execution),
            )
            _note_failed(store, rb.name, execution, "request", note)
        except Exception:
            approvals.close_pending(store, arn)  # the wait fails with this error: nothing is left pending
            raise
        metrics.add_metric(name="approval_requested", unit="Count", value=1)
        logger.info("approval requested", extra={"summary": summary, "expires": item["expires"], "requester": item["requester"]})
        # ignored by the workflow (the wait is for the token); the timeline shows the message
        told = f"; the PagerDuty note was not sent ({note['error']})" if note.get("error") else ""
        return {
            "requested": item["requested"],
            "expires": item["expires"],
            "message": f"approval asked, pending until {item['expires']}{told}",
        }
    if step == "answered":
        old = approvals.close_pending(store, arn)
        approval = approvals.answered(
            store, naming.answer_key(arn, kind), event.get("answer"), now=now, requested=str((old or {}).get("requested") or "")
        )
        approval.message = approvals.describe(approval, rb.name)
        store.audit(execution, "approval", {"runbook": rb.name, **approval.model_dump()})
        if not approval.verified and approval.answer != "timed_out":
            pager.security_refusal(
                subject=f"{rb.name}/{execution}",
                summary=(
                    f"{rb.name} {execution}: its wait for a person was answered with the task token alone, not through "
                    f"the answer function; counted as a rejection, nothing was changed"
                ),
                details={"execution": arn, "runbook": rb.name, "answer": event.get("answer")},
            )
        note = pager.approval_answered(runbook=rb.name, execution=execution, text=approval.message)
        _note_failed(store, rb.name, execution, "resolve", note)
        metrics.add_metric(name=f"approval_{approval.answer}", unit="Count", value=1)
        logger.info("approval answered", extra={"answer": approval.answer, "by": approval.by, "comment": approval.comment})
        return approval.model_dump()
    if step == "notify":
        plan = event.get("plan")
        given = plan.get("approval") if isinstance(plan, dict) else None
        approved = (
            approvals.describe(approvals.Approval.model_validate(given), rb.name)
            if isinstance(given, dict)
            else "no approval was asked"
        )
        sent = pager.runbook_outcome(
            runbook=rb.name, execution=execution, outcome=outcome_of(plan), approved=approved, teams=rb.notify_teams
        )
        not_sent = [s for s in sent if " not sent: " in s]
        if not_sent:
            _note_failed(store, rb.name, execution, "outcome", {"error": "; ".join(not_sent)})
        return {"sent": sent}
    raise InvalidInput(f"approval: unknown step {step!r}; expected request, answered or notify")


def _note_failed(store: Any, runbook: str, execution: str, note: str, sent: dict[str, Any]) -> None:
    """A PagerDuty note that could not be sent is reported, not fatal: the page-fallback went to the status topic
    (paging.Pager._note), and here an audit row, a warning and a metric."""
    if not sent.get("error"):
        return
    store.audit(execution, "approval-note", {"runbook": runbook, "note": note, "error": sent["error"]})
    metrics.add_metric(name="approval_note_failed", unit="Count", value=1)
    logger.warning("approval note not sent", extra={"note": note, "error": sent["error"]})
