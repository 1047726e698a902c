"""A declared permission: AWS actions on one kind of the customer's resources.

``resource`` names what the actions apply to: ``"<kind>"`` (the kind's instances), ``"<kind>.<part>"``
(a part the kind declares, e.g. ``ecs_service.task``) or ``"*"`` for read actions that support no
resource-level permission. The stack turns it into ARNs through the kind's declaration.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    actions: tuple[str, ...]
    resource: str
    write: bool = False
    # IAM conditions, as (operator, condition key, resource reference resolved like ``resource``)
    conditions: tuple[tuple[str, str, str], ...] = ()
