"""What a runbook is: its declaration (``Runbook``), the fields every input has, its outcomes, and the
permission sets several runbooks share. Each runbook declares itself in ``catalog/runbooks/<name>.py`` and
registers with ``register``; ``catalog.runbooks`` collects them.

The stack derives the Lambda, its IAM policy (scoped to the customer's resources) and the state machine from
a declaration; the Lambda validates its input with the same model.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.customer import CustomerConfig, Mode
from catalog.permissions import Permission


@dataclass(frozen=True)
class Outcome:
    """One way a runbook can end. ``kind`` says what it means for the on-call (Cloud Custodian's action
    registry in spirit): ok (done), skipped (nothing to do, or dry-run), refused (a guard rail said no)
    or failed (it tried and did not get there). refused and failed need a person and are paged."""

    name: str
    kind: Literal["ok", "skipped", "refused", "failed"]
    meaning: str
    # the automation changed something (a scale, a snapshot, a backup): record sends PagerDuty a change event
    change: bool = False

    @property
    def needs_person(self) -> bool:
        return self.kind in ("refused", "failed")


# Every runbook that asks for approval ends in one of these when the approval does not hold.
APPROVAL_OUTCOMES = (
    Outcome("rejected", "skipped", "the approval was rejected or timed out: nothing was changed"),
    Outcome(
        "target_changed",
        "refused",
        "the target changed after it was approved (a different lock, snapshot or version): nothing was changed",
    ),
)


class RunbookInput(BaseModel):
    """Fields every runbook accepts besides its own: set by the respond workflow, optional by hand."""

    # built on first use: a runbook's function validates its own input only, the stacks and docs none (cold start)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    dry_run: bool = Field(default=False, description="report what would be done, change nothing")
    mode: Mode | None = Field(
        default=None, description="the mode respond read; the switch is read again and the stricter one applies"
    )
    # Bounded, so no execution state can approach Step Functions' 256 KB (States.DataLimitExceeded is not
    # caught by States.ALL: the execution would die with no page and no audit row).
    incident_id: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    # who started it: a person (console, CLI), respond on an alarm, or respond on the runbook's schedule
    trigger: Literal["manual", "alarm", "schedule"] = Field(default="manual", description="set by respond")


@dataclass(frozen=True)
class ChildRun:
    """A runbook that another runbook's workflow starts and waits for (startExecution.sync:2), e.g. the backups
    maintenance-window runs before it stops anything. Its plan carries the child's input and execution name."""

    runbook: str
    key: str  # its result lands under $.backups.<key>
    input_field: str  # the plan's field holding the child's input
    execution_field: str  # the plan's field holding the child execution's name
    question: str  # the Choice state after it: did it end ok?
    also_ok: tuple[str, ...] = ()  # its outcomes that count as ok besides those of kind ok


@dataclass(frozen=True)
class Runbook:
    name: str  # state machine lecture-<c>-<name>; module lambdas/runbooks/<name_with_underscores>.py
    title: str
    target_kind: str  # the resource kind (catalog/kinds.py) it acts on; its input names one instance
    input_model: type[RunbookInput]
    permissions: tuple[Permission, ...]
    guard_rails: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    example_input: dict[str, Any]
    # A step of the runbook's Lambda that undoes what must not outlast the incident; the respond workflow
    # runs it once the alarm is OK and the runbook's cooldown has passed. None: nothing to undo.
    on_resolve: str | None = None
    # When it runs by itself: an EventBridge schedule expression from the customer's config (None: off). A
    # scheduled run goes through respond like an alarm: admit claims it, the runbook runs, record pages.
    schedule: Callable[[CustomerConfig], str | None] | None = None
    schedule_input: dict[str, Any] = field(default_factory=dict)  # merged with {<target_field>: <instance>}
    # Runs before the page instead of after it (a safety net, e.g. a snapshot before people change things):
    # the page then carries its outcome.
    runs_before_page: bool = False
    # What its function may do with the automation's table (cooldowns, remembered state) and whether it reads the
    # mode switch: granted from here, so a runbook gets only what it uses.
    table_actions: tuple[str, ...] = ("GetItem", "PutItem", "DeleteItem")
    # The key prefixes of the rows those actions touch (each under one of naming.STATE_KEY_PREFIXES): its grant
    # names only these (dynamodb:LeadingKeys), so e.g. tune-lambda cannot read approval tokens (approval#).
    table_prefixes: tuple[str, ...] = ()
    reads_mode: bool = True
    verify_interval_seconds: int = 15
    verify_max_polls: int = 20
    timeout_minutes: int = 30
    # Which construct builds its state machine: "guarded" (stacks/runbook_workflow.py: guard -> act -> verify) or
    # "maintenance" (stacks/maintenance_workflow.py). Started through respond only when "guarded".
    workflow: Literal["guarded", "maintenance"] = "guarded"
    # The input field naming its target(s), when not the target kind's own (e.g. "services": a list)
    target_field: str | None = None
    # Asks a person before act (a task token, approvals.timeout_minutes): guard's plan says what will be done in
    # ``approval_summary``; a rejection or a time-out ends the run with outcome ``rejected`` and changes nothing, and
    # act re-reads the target (``target_changed`` when it is not the one approved). Both outcomes are added here.
    approval: bool = False
    # It can be booked ahead (its input's ``at``): at most this many minutes, which its execution then waits (added
    # to its state machine's time-out). None: it runs when started.
    books_ahead_minutes: Callable[[CustomerConfig], int] | None = None
    # Teams told of every run's outcome (a PagerDuty change event and a status update), with who approved it.
    notify_teams: tuple[str, ...] = ()
    # its function publishes to the customer's status topic itself (health-check's summary)
    publishes_status: bool = False
    # the runbooks its workflow runs first, in this order (each must end ok, or nothing is changed)
    children: tuple[ChildRun, ...] = ()
    # how the sandbox timeline describes a plan that carries no ``summary`` of its own, and a verify poll that is
    # not settled yet: format strings over the plan's JSON keys
    plan_summary: str | None = None
    poll_summary: str | None = None

    def __post_init__(self) -> None:
        if self.approval:
            names = {o.name for o in self.outcomes}
            extra = tuple(o for o in APPROVAL_OUTCOMES if o.name not in names)
            object.__setattr__(self, "outcomes", self.outcomes + extra)

    def timeout_minutes_for(self, config: CustomerConfig) -> int:
        """How long an execution may run: the runbook's own time-out, the approval's, and the longest booking."""
        return (
            self.timeout_minutes
            + (config.approvals.timeout_minutes if self.approval else 0)
            + (self.books_ahead_minutes(config) if self.books_ahead_minutes else 0)
        )

    def outcome(self, name: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.name == name), None)

    def needs_person(self, outcome: str) -> bool:
        """An outcome the runbook does not declare is treated as needing a person: never silent."""
        declared = self.outcome(outcome)
        return declared is None or declared.needs_person

    def made_change(self, outcome: str) -> bool:
        """An outcome of kind ok the runbook declares as a change (Outcome(..., change=True))."""
        declared = self.outcome(outcome)
        return declared is not None and declared.kind == "ok" and declared.change


def daily(at: str | None) -> str | None:
    """ "02:30" (UTC) -> cron(30 2 * * ? *); None (switched off) -> None."""
    if at is None:
        return None
    hours, minutes = at.split(":")
    return f"cron({int(minutes)} {int(hours)} * * ? *)"


def every(minutes: int | None) -> str | None:
    """15 -> rate(15 minutes); None (switched off) -> None."""
    if minutes is None:
        return None
    return f"rate({minutes} minute{'s' if minutes != 1 else ''})"


def monthly(at: str | None) -> str | None:
    """ "15 03:00" (the 15th, 03:00 UTC) -> cron(0 3 15 * ? *); None (switched off) -> None."""
    if at is None:
        return None
    day, time = at.split(" ")
    hours, minutes = time.split(":")
    return f"cron({int(minutes)} {int(hours)} {int(day)} * ? *)"


_REGISTERED: dict[str, Runbook] = {}


def register(declared: Runbook) -> Runbook:
    """A runbook module's declaration joins the catalog (Cloud Custodian's registry in spirit)."""
    if declared.name in _REGISTERED:
        raise ValueError(f"runbook {declared.name!r} is declared twice")
    _REGISTERED[declared.name] = declared
    return declared


def registered() -> dict[str, Runbook]:
    """Every runbook declared so far; ``catalog.runbooks.RUNBOOKS`` once all its modules are loaded."""
    return dict(_REGISTERED)
