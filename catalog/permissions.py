"""A declared permission: AWS actions on one kind of the customer's resources.

``resource`` names what the actions apply to: ``"<kind>"`` (the kind's instances), ``"<kind>.<part>"``
(a part the kind declares, e.g. ``ecs_service.task``) or ``"*"`` for read actions that support no
resource-level permission. The stack turns it into ARNs through the kind's declaration.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    """An IAM condition that narrows a permission where its ARN cannot. Its value is either literal
    (``value``) or the ARNs of a resource reference (``resource``, resolved like Permission.resource)."""

    operator: str  # StringEquals, ArnEquals, ...
    key: str  # e.g. ecs:cluster, application-autoscaling:service-namespace
    value: str = ""
    resource: str = ""


@dataclass(frozen=True)
class Permission:
    actions: tuple[str, ...]
    resource: str
    write: bool = False
    conditions: tuple[Condition, ...] = ()
