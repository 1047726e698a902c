"""Runbook tune-lambda: its input model and its declaration."""

from pydantic import Field, model_validator

from catalog.declaration import Outcome, Runbook, RunbookInput, register
from catalog.permissions import Permission


class TuneLambdaInput(RunbookInput):
    function: str = Field(min_length=1, max_length=140, description="the customer's Lambda function, e.g. lecture-dhbw-function")
    memory_mb: int | None = Field(
        default=None, ge=128, le=10240, description="new memory size (MB), within the customer's lambda_tuning bounds"
    )
    timeout_seconds: int | None = Field(default=None, ge=1, le=900, description="new timeout (s), within the bounds")
    restore: bool = Field(default=False, description="put back the values from before the last tune-lambda change")

    @model_validator(mode="after")
    def _what(self) -> "TuneLambdaInput":
        if self.restore and (self.memory_mb is not None or self.timeout_seconds is not None):
            raise ValueError("give either 'restore': true or new values ('memory_mb', 'timeout_seconds'), not both")
        if not self.restore and self.memory_mb is None and self.timeout_seconds is None:
            raise ValueError("give 'memory_mb' and/or 'timeout_seconds' (or 'restore': true)")
        return self


TUNE_LAMBDA = register(
    Runbook(
        name="tune-lambda",
        title="Change a Lambda function's memory and timeout within bounds, after approval (and put them back)",
        target_kind="lambda_function",
        input_model=TuneLambdaInput,
        permissions=(
            Permission(("lambda:GetFunctionConfiguration",), resource="lambda_function"),
            Permission(("lambda:UpdateFunctionConfiguration",), resource="lambda_function", write=True),
        ),
        outcomes=(
            Outcome(
                "tuned",
                "ok",
                "the function runs with the new memory and timeout; the old ones are kept for 'restore': true",
                change=True,
            ),
            Outcome("unchanged", "skipped", "the function already has those values"),
            Outcome("would_tune", "skipped", "dry-run: the change it would make is in the message"),
            Outcome("refused", "refused", "a guard rail said no (bounds, mode off, nothing to restore)"),
            Outcome("update_failed", "failed", "Lambda did not apply the new configuration"),
        ),
        guard_rails=(
            "memory and timeout only within the customer's lambda_tuning bounds (min/max memory_mb, timeout_seconds)",
            "only the customer's configured function",
            "a person approves the exact change shown; act applies it only to the configuration revision that was "
            "shown (RevisionId), else target_changed",
            "the values from before the change are kept in the automation's table; 'restore': true puts them back "
            "(with approval too)",
            "dry-run and off modes make no change",
        ),
        approval=True,
        table_actions=("GetItem", "PutItem"),  # the values from before the change
        table_prefixes=("state#tune-lambda#",),  # its own remembered values only (Store.remember), not the alarms' state# rows
        verify_interval_seconds=5,
        verify_max_polls=12,
        example_input={
            "function": "lecture-dhbw-function",
            "memory_mb": 1024,
            "timeout_seconds": 60,
            "reason": "timeouts under exam load",
        },
    )
)
