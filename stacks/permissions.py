"""Turn a runbook's declared permissions into IAM statements scoped to the customer's resources."""

from aws_cdk import aws_iam as iam

from catalog import CustomerConfig, Permission


def resource_arns(kind: str, config: CustomerConfig) -> list[str]:
    """ARNs of one kind of the customer's resources. Unknown kinds are a programming error."""
    r, a = config.region, config.account
    cluster = config.ecs.cluster
    kinds = {
        "*": ["*"],
        "ecs_service": [f"arn:aws:ecs:{r}:{a}:service/{cluster}/{s.name}" for s in config.ecs.services],
        "ecs_task": [f"arn:aws:ecs:{r}:{a}:task/{cluster}/*"],
        # Scalable target ARNs carry a random id assigned by AWS: scoped to the account and region.
        "ecs_scalable_target": [f"arn:aws:application-autoscaling:{r}:{a}:scalable-target/*"],
    }
    if kind not in kinds:
        raise KeyError(f"no ARN mapping for resource kind {kind!r}; add it to stacks/permissions.py")
    return kinds[kind]


# Conditions that narrow a kind further where its ARN cannot (Service Authorization Reference:
# RegisterScalableTarget takes scalable-target ARNs, which carry a random id, and the
# application-autoscaling:service-namespace / scalable-dimension condition keys; none names the service).
CONDITIONS = {
    "ecs_scalable_target": {"StringEquals": {"application-autoscaling:service-namespace": "ecs",
                                             "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount"}},
}


def statements(permissions: tuple[Permission, ...], config: CustomerConfig) -> list[iam.PolicyStatement]:
    result = []
    for p in permissions:
        arns = resource_arns(p.resource, config)
        if p.write and arns == ["*"]:
            raise ValueError(f"write actions {p.actions} must be scoped to resources, not '*'")
        result.append(iam.PolicyStatement(actions=list(p.actions), resources=arns, conditions=CONDITIONS.get(p.resource)))
    return result
