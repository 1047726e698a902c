"""The runbooks, each declared once in its own module here (``catalog/runbooks/<name>.py``: its input model and
its ``Runbook``), registered as it is loaded. Adding a runbook adds a module; nothing here names one.

``from catalog.runbooks import ScaleEcsServiceInput`` keeps working: a name not defined here is looked up in
the runbook modules.
"""

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from catalog.customer import CustomerConfig
from catalog.declaration import APPROVAL_OUTCOMES, Outcome, Runbook, RunbookInput, registered

_MODULES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"{__name__}.{m.name}") for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if not m.name.startswith("_"))

RUNBOOKS: dict[str, Runbook] = registered()


def runbook(name: str) -> Runbook:
    try:
        return RUNBOOKS[name]
    except KeyError:
        raise KeyError(f"unknown runbook {name!r}; known: {', '.join(RUNBOOKS)}") from None


@dataclass(frozen=True)
class ScheduledRun:
    rule: str  # the EventBridge rule's name
    expression: str  # cron(...) or rate(...)
    runbook: Runbook


def scheduled_runs(config: CustomerConfig) -> dict[str, ScheduledRun]:
    """Every schedule this customer's stack creates, by rule name (a schedule switched off has none)."""
    from catalog import naming

    runs = {}
    for rb in RUNBOOKS.values():
        expression = rb.schedule(config) if rb.schedule else None
        if expression:
            name = naming.schedule_rule_name(config.customer, rb.name)
            runs[name] = ScheduledRun(name, expression, rb)
    return runs


def __getattr__(name: str) -> Any:
    """An input model or declaration by its name (``ScaleEcsServiceInput``, ``SCALE_ECS_SERVICE``)."""
    for module in _MODULES:
        if name in vars(module):
            return vars(module)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["APPROVAL_OUTCOMES", "RUNBOOKS", "Outcome", "Runbook", "RunbookInput", "ScheduledRun", "runbook",
           "scheduled_runs"]
