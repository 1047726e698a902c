"""The runbook catalog: every fact that the infrastructure and the Lambdas share, declared once.

catalog.severity   the runbook's incident classification and escalation matrix
catalog.kinds      resource kinds: instances, ARNs, dimensions, alarms, diagnosis permissions
catalog.alarms     alarm kinds: what is watched on an instance, how bad it is, what answers it
catalog.runbooks   runbooks: name, target kind, input model, IAM actions, guard rails, outcomes
catalog.customer   the customer configuration model (files in customers/)
catalog.naming     resource names in the runbook's words

``stacks/`` derives alarms, IAM and state machines from it; ``lambdas/`` classifies and validates
with it. It depends on pydantic only and ships inside the Lambda asset next to ``lambdas/``.
Names are re-exported lazily (PEP 562 __getattr__), so a handler loads only the modules it uses.
"""

import importlib
from typing import Any

_EXPORTS = {
    "AlarmKind": "catalog.alarms",
    "KINDS": "catalog.kinds",
    "ResourceKind": "catalog.kinds",
    "watched_alarms": "catalog.kinds",
    "CustomerConfig": "catalog.customer",
    "EcsServiceConfig": "catalog.customer",
    "RUNBOOKS": "catalog.runbooks",
    "Permission": "catalog.permissions",
    "Runbook": "catalog.runbooks",
    "runbook": "catalog.runbooks",
    "Severity": "catalog.severity",
}


def __getattr__(name: str) -> Any:
    """`from catalog import RUNBOOKS` works, loading only the module that declares it."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name == "naming":
        return importlib.import_module("catalog.naming")
    raise AttributeError(f"module 'catalog' has no attribute {name!r}")


__all__ = [*_EXPORTS, "naming"]
