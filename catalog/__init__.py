"""The runbook catalog: every fact that the infrastructure and the Lambdas share, declared once.

Severities, alarm kinds, runbooks (input model, IAM actions, guard rails), resource names and the
customer configuration model live here. ``stacks/`` derives alarms, IAM and state machines from it;
``lambdas/`` classifies and validates with it. It depends on pydantic only and ships inside the
Lambda asset next to ``lambdas/``.
"""

from catalog.alarms import ALARM_KINDS, AlarmKind, alarm_kind
from catalog.customer import CustomerConfig, EcsServiceConfig
from catalog.runbooks import RUNBOOKS, Permission, Runbook, runbook
from catalog.severity import Severity

__all__ = [
    "ALARM_KINDS",
    "AlarmKind",
    "CustomerConfig",
    "EcsServiceConfig",
    "Permission",
    "RUNBOOKS",
    "Runbook",
    "Severity",
    "alarm_kind",
    "runbook",
]
