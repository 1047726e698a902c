"""The runbooks, each declared once in its own module here (``catalog/runbooks/<name>.py``: its input model and
its ``Runbook``), registered as it is loaded. Adding a runbook adds a module; nothing here names one.

Loaded lazily, for the Lambdas' cold start: ``runbook(name)`` loads that runbook's module only, so a runbook's
function never builds the others' input models. ``RUNBOOKS`` (the stacks, the docs, the sandbox) loads them all,
on first use. ``from catalog.runbooks import ScaleEcsServiceInput`` keeps working: a name not defined here is
looked up in the runbook modules (which loads them all; a Lambda imports ``catalog.runbooks.<name>`` instead).
"""

import importlib
import re
from dataclasses import dataclass
from typing import Any

from catalog import naming
from catalog.customer import CustomerConfig
from catalog.declaration import APPROVAL_OUTCOMES, Outcome, Runbook, RunbookInput, registered

RUNBOOKS: dict[str, Runbook]  # every runbook, by name, in the order of their modules; set by __getattr__ on first use

_NAME = re.compile(r"[a-z][a-z0-9-]{0,99}")


def _module_names() -> list[str]:
    import pkgutil  # only when every runbook is loaded (the stacks, the docs), never in a runbook's function

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def runbook_names() -> list[str]:
    """Every runbook's name, from its module's name (scale_ecs_service.py: scale-ecs-service), without loading any:
    for whoever only lists or checks names (the CLI's usage and errors)."""
    return sorted((m.replace("_", "-") for m in _module_names()), key=naming.module_name)


def _load_all() -> dict[str, Runbook]:
    for name in _module_names():
        importlib.import_module(f"{__name__}.{name}")
    found = registered()
    return {name: found[name] for name in sorted(found, key=naming.module_name)}


def _own_module(name: str) -> None:
    """Loads the module that declares runbook ``name`` (scale-ecs-service: catalog/runbooks/scale_ecs_service.py)."""
    if not _NAME.fullmatch(name):
        return
    module = f"{__name__}.{naming.module_name(name)}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise


def runbook(name: str) -> Runbook:
    """One runbook's declaration; only its own module is loaded (unless all of them are already)."""
    catalog = globals().get("RUNBOOKS")
    if catalog is None:
        _own_module(name)
        catalog = registered()
    try:
        return catalog[name]
    except KeyError:
        raise KeyError(f"unknown runbook {name!r}; known: {', '.join(__getattr__('RUNBOOKS'))}") from None


@dataclass(frozen=True)
class ScheduledRun:
    rule: str  # the EventBridge rule's name
    expression: str  # cron(...) or rate(...)
    runbook: Runbook


def scheduled_runs(config: CustomerConfig) -> dict[str, ScheduledRun]:
    """Every schedule this customer's stack creates, by rule name (a schedule switched off has none)."""
    runs = {}
    for rb in __getattr__("RUNBOOKS").values():
        expression = rb.schedule(config) if rb.schedule else None
        if expression:
            name = naming.schedule_rule_name(config.customer, rb.name)
            runs[name] = ScheduledRun(name, expression, rb)
    return runs


def __getattr__(name: str) -> Any:
    """``RUNBOOKS``, loaded once; or an input model or declaration by its name (``ScaleEcsServiceInput``,
    ``SCALE_ECS_SERVICE``)."""
    if name == "RUNBOOKS":
        if "RUNBOOKS" not in globals():
            globals()["RUNBOOKS"] = _load_all()
        return globals()["RUNBOOKS"]
    if name.startswith("__"):  # dunders (__path__ lookups, copy, pickle ...) are never a runbook's
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __getattr__("RUNBOOKS")
    for module in _module_names():
        found = vars(importlib.import_module(f"{__name__}.{module}"))
        if name in found:
            return found[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["APPROVAL_OUTCOMES", "RUNBOOKS", "Outcome", "Runbook", "RunbookInput", "ScheduledRun", "runbook", "scheduled_runs"]
