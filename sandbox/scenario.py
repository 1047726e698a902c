"""Scenario files (game days): a customer, an optional mode and world, and steps run in order. Several customers
at once (``"customers": ["dhbw", "edt"]``, ``"worlds": {"edt": {...}}``, each step with its ``"customer"``) run
with the ops account too; the report then has ``customers`` (a section per customer) and ``ops``.

{"customer": "dhbw", "mode": "enforce",
 "world": {"ecs": {"lecture-backend-service": {"desired": 2, "min": 2, "max": 6}}},
 "steps": [{"alarm": "lecture-dhbw-lecture-backend-service-cpu-high", "state": "ALARM", "deliveries": 1},
           {"event": {...a raw EventBridge event...}},
           {"schedule": "backup-terraform-state", "deliveries": 1},
           {"start": "scale-ecs-service", "input": {"service": "lecture-backend-service", "desired": 4}}],
 "expect": {"executions": {"respond": [{"status": "SUCCEEDED", "outcome": "scaled"}]}, "actions": 1,
            "pages": {"trigger 202": 1}, "world": {"ecs": {"lecture-backend-service": {"desired": 3}}}}}

``expect`` is optional; ``check_expectations`` lists every way the report differs from it.
"""

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from catalog import naming
from catalog.customer import Mode
from catalog.validation import describe
from sandbox.world import World
from sandbox.world import check as world_check


class ScenarioError(Exception):
    """The scenario file is invalid; the message says where and why."""


class AlarmStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    alarm: str
    state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"] = "ALARM"
    deliveries: int = Field(default=1, ge=1, le=50)
    reason: str | None = None


class EventStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    event: Any = Field(description="delivered as is, even when malformed")
    deliveries: int = Field(default=1, ge=1, le=50)
    forged: bool = Field(
        default=False,
        description="an alarm event that did not happen: the alarm is not put in "
        "its state (by default it is, unless a newer one came first)",
    )


class ScheduleStep(BaseModel):
    """The runbook's schedule rule fires, as EventBridge would at the scheduled time."""

    model_config = ConfigDict(extra="forbid")
    schedule: str = Field(description="the runbook's name, e.g. backup-terraform-state")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    deliveries: int = Field(default=1, ge=1, le=50)


class StopTasksStep(BaseModel):
    """Tasks of a service stop (moto StopTask), and ECS sends an "ECS Task State Change" for each."""

    model_config = ConfigDict(extra="forbid")
    stop_tasks: str = Field(description="the service's name, e.g. lecture-backend-service")
    count: int = Field(default=1, ge=1, le=50)
    reason: str | None = Field(
        default=None,
        max_length=255,
        description='stoppedReason (default "Essential container in task exited"); '
        '"Scaling activity initiated by ..." is a planned stop',
    )
    stop_code: str | None = Field(default=None, max_length=64, description="stopCode (default from the reason)")
    deliveries: int = Field(default=1, ge=1, le=50)


class ServiceActionStep(BaseModel):
    """ECS sends an "ECS Service Action" for a service."""

    model_config = ConfigDict(extra="forbid")
    service_action: str = Field(description="the service's name")
    event_name: str = Field(default="SERVICE_TASK_START_IMPAIRED", max_length=128)
    event_type: Literal["INFO", "WARN", "ERROR"] | None = Field(
        default=None, description="default WARN (INFO for SERVICE_STEADY_STATE)"
    )
    reason: str | None = Field(default=None, max_length=1024)
    deliveries: int = Field(default=1, ge=1, le=50)


class RdsEventStep(BaseModel):
    """RDS sends an "RDS DB Cluster Event" for the customer's Aurora cluster."""

    model_config = ConfigDict(extra="forbid")
    rds_event: str = Field(
        pattern=r"^RDS-EVENT-\d{4}$", description="e.g. RDS-EVENT-0073 (failover started), RDS-EVENT-0071 (completed)"
    )
    message: str | None = Field(default=None, max_length=1024)
    deliveries: int = Field(default=1, ge=1, le=50)


class StartStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    start: str
    input: Any = Field(default_factory=dict)


class ModeStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    mode: Mode


BY = (
    "who answers, an IAM user of the customer's account: approver (the lecture-<c>-approver profile's named "
    "approver, the default), operator (the lecture-<c>-prod profile's, not an approver), or a user name with its "
    "path, e.g. approvers/alice (a named approver) or mallory (not one)"
)


class ApproveStep(BaseModel):
    """Approve the oldest pending approval of the runbook, as ``python cli.py approve`` does, as ``by``."""

    model_config = ConfigDict(extra="forbid")
    approve: str = Field(description="the runbook's name, e.g. force-unlock-state")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    by: str = Field(default="approver", pattern=r"^[A-Za-z0-9+=,.@_/-]{1,128}$", description=BY)
    comment: str = Field(default="", max_length=1000)


class RejectStep(BaseModel):
    """Reject the oldest pending approval of the runbook, as ``python cli.py reject`` does, as ``by``."""

    model_config = ConfigDict(extra="forbid")
    reject: str = Field(description="the runbook's name")
    customer: str | None = Field(
        default=None, description="the customer whose account the step is in (a scenario of several customers)"
    )
    by: str = Field(default="approver", pattern=r"^[A-Za-z0-9+=,.@_/-]{1,128}$", description=BY)
    comment: str = Field(default="", max_length=1000)


class WaitStep(BaseModel):
    """Simulated time passes: approvals (and a maintenance window's wait) whose timeout has come time out."""

    model_config = ConfigDict(extra="forbid")
    wait_minutes: float = Field(gt=0, le=10080)


Step = (
    AlarmStep
    | EventStep
    | ScheduleStep
    | StartStep
    | ModeStep
    | ApproveStep
    | RejectStep
    | WaitStep
    | StopTasksStep
    | ServiceActionStep
    | RdsEventStep
)
STEP_KINDS = (
    "alarm",
    "event",
    "schedule",
    "start",
    "mode",
    "approve",
    "reject",
    "stop_tasks",
    "service_action",
    "rds_event",
    "wait_minutes",
)


class ExpectedExecution(BaseModel):
    """What one execution ended with; fields left out are not checked."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] | None = None
    outcome: str | None = Field(default=None, description="output.outcome")
    decision: str | None = Field(default=None, description="output.decision (respond's admit)")
    error: str | None = None
    cause_contains: str | None = None


class AnyOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any_order: list[ExpectedExecution]


class Expect(BaseModel):
    """Checked after the steps ran: what a game day says must have happened."""

    model_config = ConfigDict(extra="forbid")
    executions: dict[str, list[ExpectedExecution] | AnyOrder] = Field(
        default_factory=dict, description="per workflow (respond, a runbook): every execution, in start order"
    )
    actions: int | None = Field(default=None, ge=0, description="number of AWS changes")
    pages: dict[str, int] | None = Field(
        default=None, description='requests per "<kind> <http_status>" (trigger, resolve, change), e.g. {"trigger 202": 1}; exact'
    )
    notifications: int | None = Field(default=None, ge=0, description="number of SNS status updates")
    world: dict[str, Any] = Field(default_factory=dict, description="values the world must have; others ignored")
    p0_pages: dict[str, int] | None = Field(
        default=None, description='the ops account\'s P0 requests per "<kind> <http_status>", e.g. {"trigger 202": 1}; exact'
    )
    p0_customers: list[str] | None = Field(default=None, description="the customers the last P0 page lists")


class Scenario(BaseModel):
    """One customer (``customer``), or several at once with the ops account (``customers``: a world per customer
    in ``worlds``, each step naming its ``customer``; the first is the default)."""

    model_config = ConfigDict(extra="forbid")
    customer: str
    customers: list[str] | None = Field(default=None, min_length=2, description="several customers and the ops account")
    mode: Mode | None = None
    world: World = Field(default_factory=World)
    worlds: dict[str, World] = Field(default_factory=dict, description="per customer, its world (customers only)")
    steps: list[Step] = Field(min_length=1)
    expect: Expect | None = None

    @property
    def fleet(self) -> list[str]:
        return list(self.customers or [self.customer])

    @model_validator(mode="before")
    @classmethod
    def _first_customer(cls, data):
        if isinstance(data, dict) and isinstance(data.get("customers"), list) and data["customers"] and "customer" not in data:
            data = {**data, "customer": data["customers"][0]}
        return data

    @model_validator(mode="after")
    def _known_customers(self) -> "Scenario":
        fleet = self.fleet
        if self.customers and self.customer not in fleet:
            raise ValueError(f"customer {self.customer!r} is not in customers ({', '.join(fleet)})")
        if len(set(fleet)) != len(fleet):
            raise ValueError(f"customers lists a customer twice: {', '.join(fleet)}")
        stray = sorted(set(self.worlds) - set(fleet)) if self.customers else sorted(self.worlds)
        if stray:
            raise ValueError(f"worlds names {', '.join(stray)}, not in customers ({', '.join(fleet)}); one customer: use world")
        for i, step in enumerate(self.steps):
            named = getattr(step, "customer", None)
            if named is not None and named not in fleet:
                raise ValueError(f"steps[{i}] names customer {named!r}, not in this scenario ({', '.join(fleet)})")
        if self.expect and (self.expect.p0_pages is not None or self.expect.p0_customers is not None) and not self.customers:
            raise ValueError("expect.p0_pages and expect.p0_customers need several customers (customers: [...])")
        return self

    def world_of(self, customer: str) -> World:
        return self.worlds.get(customer) or (self.world if customer == self.customer else World())

    @model_validator(mode="before")
    @classmethod
    def _step_kinds(cls, data):
        if isinstance(data, dict) and isinstance(data.get("steps"), list):
            for i, step in enumerate(data["steps"]):
                if not isinstance(step, dict) or not (set(STEP_KINDS) & set(step)):
                    raise ValueError(
                        f"steps[{i}] must have one of " + ", ".join(f"'{k}'" for k in STEP_KINDS[:-1]) + f" or '{STEP_KINDS[-1]}'"
                    )
        return data


def load(path: Path) -> Scenario:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{path}: not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    return parse(data, str(path))


def parse(data, source: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe(exc, source)) from None
    return scenario


def check_against(scenario: Scenario, config, configs: dict | None = None) -> None:
    """Bounds come from the customer file: a world that says otherwise is a mistake, not an override. ``configs``:
    every customer's of a scenario of several (customer -> its config)."""
    try:
        for customer, c in (configs or {scenario.customer: config}).items():
            world_check(scenario.world_of(customer), c)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


def run_steps(scenario: Scenario, sb) -> dict:
    """Run every step to completion, in order, in a started sandbox; returns the report.
    A step that names something the deployment does not have is a scenario error."""
    for i, step in enumerate(scenario.steps):
        c = getattr(step, "customer", None)
        try:
            if isinstance(step, AlarmStep):
                sb.fire_alarm(step.alarm, step.state, step.deliveries, step.reason, customer=c)
            elif isinstance(step, EventStep):
                sb.deliver(step.event, step.deliveries, forged=step.forged, customer=c)
            elif isinstance(step, ScheduleStep):
                sb.fire_schedule(step.schedule, step.deliveries, customer=c)
            elif isinstance(step, StartStep):
                sb.start_runbook(step.start, step.input, customer=c)
            elif isinstance(step, ApproveStep):
                sb.answer_approval(step.approve, approve=True, by=step.by, comment=step.comment, customer=c)
            elif isinstance(step, RejectStep):
                sb.answer_approval(step.reject, approve=False, by=step.by, comment=step.comment, customer=c)
            elif isinstance(step, WaitStep):
                sb.wait_minutes(step.wait_minutes)
            elif isinstance(step, StopTasksStep | ServiceActionStep | RdsEventStep):
                _service_event_step(step, sb)
            else:
                sb.set_mode(step.mode, customer=c)
        except ValueError as exc:
            raise ScenarioError(f"steps[{i}]: {exc}") from None
    report = sb.report()
    if scenario.customers:  # the first customer's report as before, then a section per customer and one for ops
        report["customers"] = {c: (report if c == scenario.customer else sb.customer_report(c)) for c in scenario.customers}
        report["customers"] = {c: {k: v for k, v in r.items() if k != "customers"} for c, r in report["customers"].items()}
        report["ops"] = sb.ops_report()
    return report


def _service_event_step(step: "StopTasksStep | ServiceActionStep | RdsEventStep", sb) -> None:
    """What ECS and RDS send by themselves (catalog/service_events.py)."""
    if isinstance(step, StopTasksStep):
        sb.stop_tasks(step.stop_tasks, step.count, step.reason, step.stop_code, step.deliveries)
    elif isinstance(step, ServiceActionStep):
        sb.service_action(step.service_action, step.event_name, step.event_type, step.reason, step.deliveries)
    else:
        sb.rds_event(step.rds_event, step.message, step.deliveries)


def check_expectations(scenario: Scenario, report: dict) -> list[str]:
    """Every difference between the scenario's ``expect`` and the report, one readable line each."""
    expect = scenario.expect
    if expect is None:
        return []
    problems: list[str] = []
    for workflow, expected in expect.executions.items():
        name = naming.state_machine_name(scenario.customer, workflow)
        ran = [e for e in report["executions"] if e["state_machine"] == name]
        problems += _check_executions(workflow, expected, ran)
    if expect.actions is not None and len(report["actions"]) != expect.actions:
        problems.append(
            f"actions: expected {expect.actions} AWS change(s), got {len(report['actions'])}: "
            + (", ".join(f"{a['service']} {a['operation']}" for a in report["actions"]) or "none")
        )
    if expect.pages is not None:
        got: dict[str, int] = {}
        for p in report["pages"]:
            key = f"{p.get('kind') or p.get('event_action')} {p.get('http_status')}"
            got[key] = got.get(key, 0) + 1
        if got != expect.pages:
            problems.append(f"pages: expected {expect.pages}, got {got}")
    if expect.notifications is not None and len(report["notifications"]) != expect.notifications:
        problems.append(f"notifications: expected {expect.notifications}, got {len(report['notifications'])}")
    problems += _check_values("world", expect.world, report["world"])
    return problems + _check_p0(expect, report)


def _check_p0(expect: Expect, report: dict) -> list[str]:
    """The ops account's P0 pages (a scenario of several customers)."""
    problems: list[str] = []
    if expect.p0_pages is not None:
        got = {}
        for p in report["ops"]["p0_pages"]:
            key = f"{p.get('kind')} {p.get('http_status')}"
            got[key] = got.get(key, 0) + 1
        if got != expect.p0_pages:
            problems.append(f"p0_pages: expected {expect.p0_pages}, got {got}")
    if expect.p0_customers is not None:
        triggers = [p for p in report["ops"]["p0_pages"] if p.get("kind") == "trigger"]
        listed = ((triggers[-1].get("payload") or {}).get("custom_details") or {}).get("affected_customers") if triggers else None
        if listed != expect.p0_customers:
            problems.append(f"p0_customers: expected {expect.p0_customers}, got {listed}")
    return problems


def _execution_differences(expected: ExpectedExecution, got: dict) -> list[str]:
    out = got.get("output") if isinstance(got.get("output"), dict) else {}
    actual = {
        "status": got.get("status"),
        "outcome": out.get("outcome"),
        "decision": out.get("decision"),
        "error": got.get("error"),
    }
    diffs = [
        f"{k} {v!r}, got {actual[k]!r}"
        for k, v in expected.model_dump(exclude_none=True).items()
        if k != "cause_contains" and actual[k] != v
    ]
    if expected.cause_contains is not None and expected.cause_contains not in (got.get("cause") or ""):
        diffs.append(f"cause containing {expected.cause_contains!r}, got {got.get('cause')!r}")
    return diffs


def _check_executions(workflow: str, expected, ran: list[dict]) -> list[str]:
    wanted = expected.any_order if isinstance(expected, AnyOrder) else expected
    if len(ran) != len(wanted):
        return [f"executions.{workflow}: expected {len(wanted)} execution(s), got {len(ran)}"]
    if isinstance(expected, AnyOrder):  # each expectation matched by a different execution
        unmatched = list(ran)
        for i, want in enumerate(wanted):
            hit = next((e for e in unmatched if not _execution_differences(want, e)), None)
            if hit is None:
                return [
                    f"executions.{workflow}.any_order[{i}]: no execution matches "
                    f"{want.model_dump(exclude_none=True)}; got " + "; ".join(_summary(e) for e in ran)
                ]
            unmatched.remove(hit)
        return []
    return [
        f"executions.{workflow}[{i}]: expected " + "; ".join(diffs)
        for i, (want, got) in enumerate(zip(wanted, ran, strict=False))
        if (diffs := _execution_differences(want, got))
    ]


def _summary(e: dict) -> str:
    out = e.get("output") if isinstance(e.get("output"), dict) else {}
    return f"{e.get('status')} {out.get('decision') or out.get('outcome') or e.get('error') or ''}".strip()


def _check_values(where: str, expected, actual) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = []
        for k, v in expected.items():
            if k not in actual:
                problems.append(f"{where}.{k}: expected {v!r}, missing")
            else:
                problems += _check_values(f"{where}.{k}", v, actual[k])
        return problems
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]
