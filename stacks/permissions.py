"""Turn declared permissions (runbooks', diagnoses') into IAM statements scoped to the customer's resources.

The ARNs come from the resource kinds (catalog/kinds.py); nothing here names a kind.
"""

from aws_cdk import aws_iam as iam

from catalog import CustomerConfig, Permission
from catalog.kinds import resolve


def resource_arns(reference: str, config: CustomerConfig) -> list[str]:
    """'*', '<kind>' or '<kind>.<part>' -> ARNs. An unknown kind or part is a programming error."""
    return resolve(reference, config)


def statements(permissions: tuple[Permission, ...], config: CustomerConfig) -> list[iam.PolicyStatement]:
    result = []
    for p in permissions:
        arns = resource_arns(p.resource, config)
        if p.write and arns == ["*"]:
            raise ValueError(f"write actions {p.actions} must be scoped to resources, not '*'")
        conditions: dict[str, dict[str, object]] = {}
        for c in p.conditions:
            values = resource_arns(c.resource, config) if c.resource else [c.value]
            conditions.setdefault(c.operator, {})[c.key] = values[0] if len(values) == 1 else values
        result.append(iam.PolicyStatement(actions=list(p.actions), resources=arns, conditions=conditions or None))
    return result
