"""The audit function's logic: a state machine's own audit row (a runbook's Report / ReportFailure, the mode-change
watch's Audit), appended to the customer's hash chain through Store.audit.

The row's subject is the calling execution's name (or the workflow's fixed subject, e.g. mode-switch), taken from its
ARN once Step Functions has confirmed that the
execution is running, is one of the customer's state machines and is at an audit state now (lambdas/logic/executions.py):
a direct invoke cannot write a row in a workflow's name."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog import CustomerConfig, naming
from catalog.validation import describe
from lambdas.errors import InvalidInput
from lambdas.logic import executions
from lambdas.logic.store import Item, Store


class AuditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    execution_arn: str = Field(min_length=20, max_length=400, pattern=r"^arn:aws[a-z-]*:states:")
    workflow: str = Field(min_length=1, max_length=80)
    step: Literal["report", "mode-change"]
    sk: str = Field(min_length=1, max_length=400)
    record: dict[str, str | None]
    # the row's subject (pk audit#<subject>) when it is not the execution's name: the mode switch's rows
    subject: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


def parse(event: object) -> AuditRequest:
    try:
        return AuditRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(describe(exc, "invalid audit row (execution_arn, workflow, step, sk, record)")) from None


def append(req: AuditRequest, *, config: CustomerConfig, store: Store, sfn: Any) -> Item:
    executions.confirm(sfn, req.execution_arn, config=config, workflow=req.workflow, at=naming.AUDIT_STATES)
    subject = req.subject or req.execution_arn.rsplit(":", 1)[-1]
    record: dict[str, Any] = dict(req.record)
    return store.audit(subject, req.step, record, sk=req.sk)
