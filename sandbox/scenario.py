"""Scenario files (game days): a customer, an optional mode and world, and steps run in order.

{"customer": "dhbw", "mode": "enforce",
 "world": {"ecs": {"lecture-backend-service": {"desired": 2, "min": 2, "max": 6}}},
 "steps": [{"alarm": "lecture-dhbw-lecture-backend-service-cpu-high", "state": "ALARM", "deliveries": 1},
           {"event": {...a raw EventBridge event...}},
           {"start": "scale-ecs-service", "input": {"service": "lecture-backend-service", "desired": 4}}]}
"""

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from catalog.customer import Mode
from catalog.validation import describe
from sandbox.world import World
from sandbox.world import check as world_check


class ScenarioError(Exception):
    """The scenario file is invalid; the message says where and why."""


class AlarmStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alarm: str
    state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"] = "ALARM"
    deliveries: int = Field(default=1, ge=1, le=50)
    reason: str | None = None


class EventStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Any = Field(description="delivered as is, even when malformed")
    deliveries: int = Field(default=1, ge=1, le=50)


class StartStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str
    input: Any = Field(default_factory=dict)


class ModeStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode


Step = AlarmStep | EventStep | StartStep | ModeStep


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str
    mode: Mode | None = None
    world: World = Field(default_factory=World)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _step_kinds(cls, data):
        if isinstance(data, dict) and isinstance(data.get("steps"), list):
            for i, step in enumerate(data["steps"]):
                if not isinstance(step, dict) or not ({"alarm", "event", "start", "mode"} & set(step)):
                    raise ValueError(f"steps[{i}] must have one of 'alarm', 'event', 'start' or 'mode'")
        return data


def load(path: Path) -> Scenario:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
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


def check_against(scenario: Scenario, config) -> None:
    """Bounds come from the customer file: a world that says otherwise is a mistake, not an override."""
    try:
        world_check(scenario.world, config)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None


def run_steps(scenario: Scenario, sb) -> dict:
    """Run every step to completion, in order, in a started sandbox; returns the report.
    A step that names something the deployment does not have is a scenario error."""
    for i, step in enumerate(scenario.steps):
        try:
            if isinstance(step, AlarmStep):
                sb.fire_alarm(step.alarm, step.state, step.deliveries, step.reason)
            elif isinstance(step, EventStep):
                sb.deliver(step.event, step.deliveries)
            elif isinstance(step, StartStep):
                sb.start_runbook(step.start, step.input)
            else:
                sb.set_mode(step.mode)
        except ValueError as exc:
            raise ScenarioError(f"steps[{i}]: {exc}") from None
    return sb.report()
