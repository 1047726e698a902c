"""The simulated customer environment, one module per resource kind (catalog/kinds.py), named after it.

Each module declares its part of a scenario's ``world`` and of the report (``KEY`` and ``Spec``; by default
``world.<KEY>`` maps instance names to a ``Spec``, a module may declare another shape as ``FIELD``, an
(annotation, pydantic Field) pair, e.g. one object or a list), how to
build it in moto (``build``), what moto lacks for it (``install``, through the sandbox's Patches), how to
check a scenario against the customer file (``check``) and how the report shows it (``snapshot``);
``AWS_SERVICES`` and ``instance_of`` let the timeline show an instance before and after a change.
This package only iterates over the kinds.
"""

import importlib
from types import ModuleType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from catalog.kinds import KINDS


def modules() -> dict[str, ModuleType]:
    """Every kind's world module, by kind name."""
    return {name: importlib.import_module(f"sandbox.world.{name}") for name in KINDS}


class PagerDutyWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_status: int = Field(default=500, ge=400, le=599, description="what PagerDuty answers")
    failures: int = Field(
        default=0, ge=0, description="for this many requests, then it recovers (with responses: none unless given; else 1000)"
    )
    # PagerDuty's replies, request by request (e.g. [429, 500, 202]); after the list runs out it answers 202
    responses: list[Annotated[int, Field(ge=200, le=599)]] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _outage_by_default(self) -> "PagerDutyWorld":
        # {"pagerduty": {}} or {"fail_status": 503} keeps meaning an outage of 1000 requests, as before
        if "failures" not in self.model_fields_set and not self.responses:
            self.failures = 1000
        return self


World = create_model(  # type: ignore[call-overload]
    "World",
    __config__=ConfigDict(extra="forbid"),
    pagerduty=(PagerDutyWorld | None, Field(default=None, description="an outage of PagerDuty")),
    **{m.KEY: getattr(m, "FIELD", None) or (dict[str, m.Spec], Field(default_factory=dict)) for m in modules().values()},
)


def check(world, config) -> None:
    """Raises ValueError naming the part of the world that contradicts the customer file."""
    for m in modules().values():
        m.check(config, getattr(world, m.KEY))


def build(clients, config, world, account: str, region: str) -> None:
    for m in modules().values():
        m.build(clients, config, getattr(world, m.KEY), account, region)


def install(patches) -> None:
    for m in modules().values():
        m.install(patches)


def snapshot(clients, config) -> dict:
    """The world as the report shows it: {<KEY>: {<instance>: {...}}} per kind."""
    return {m.KEY: m.snapshot(clients, config) for m in modules().values()}


def before_after(clients, config, service: str, operation: str, params: dict):
    """The instance a change is about, as the report shows it (None when no kind knows the call).
    ``instance_of`` names the instance in the kind's snapshot, or returns "*" for the whole of it."""
    for m in modules().values():
        if service in m.AWS_SERVICES:
            name = m.instance_of(operation, params)
            if name == "*":
                return m.snapshot(clients, config)
            if name:
                return m.snapshot(clients, config).get(name)
    return None
