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


# Reading the state's Terraform lock: the DynamoDB LockID item (only this state's: the table is shared) and the
# S3 .tflock (its listing, to tell a missing one from a refused read). The diagnosis and several runbooks need it.
STATE_LOCK_READS: tuple[Permission, ...] = (
    Permission(
        ("dynamodb:GetItem",),
        resource="state_lock",
        conditions=(Condition("ForAllValues:StringEquals", "dynamodb:LeadingKeys", resource="state_lock.lock_id_value"),),
    ),
    Permission(("s3:GetObject",), resource="state_lock.tflock"),
    Permission(
        ("s3:ListBucket",),
        resource="state_lock.state_bucket",
        conditions=(Condition("StringEquals", "s3:prefix", resource="state_lock.tflock_listing_value"),),
    ),
)
