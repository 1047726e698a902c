"""Deploying the customer's synthesized stack into the offline AWS, as an operator would."""

from pathlib import Path

from catalog import naming
from sandbox.deploy import Deployment, deploy
from sandbox.synth import synthesize


def routing_key(team: str, customer: str | None = None) -> str:
    """Each customer's and team's fake key (32 characters, like a PagerDuty integration key); the report tells
    customers and teams apart by their keys."""
    return f"sandbox0{customer or ''}0{team}".ljust(32, "0")[:32]


def team_of_key(config) -> dict[str, str]:
    """The fake keys, back to their teams: the report names the team a page went to, never the key."""
    return {routing_key(team, config.customer): team for team in config.paging.teams}


def create_secrets(client, config) -> None:
    """Operators put the routing keys into Secrets Manager; the stack only references them by name."""
    secrets = client("secretsmanager")
    for team, settings in config.paging.teams.items():
        try:
            secrets.create_secret(Name=settings.secret, SecretString=routing_key(team, config.customer))
        except secrets.exceptions.ResourceExistsException:
            pass


def deploy_customer(client, customer: str, config, assembly: Path | None, workdir: Path, timeline) -> Deployment:
    assembly = assembly or synthesize(workdir / "cdk.out", customer)
    deployment = deploy(client, assembly, naming.stack_name(customer), {})
    announce_deployment(timeline, deployment)
    return deployment


def create_ops_secret(client, ops) -> None:
    """The P0 service's routing key, as operators put it into the ops account's Secrets Manager."""
    secrets = client("secretsmanager")
    try:
        secrets.create_secret(Name=ops.paging.pagerduty_secret_name, SecretString=routing_key("p0", naming.OPS))
    except secrets.exceptions.ResourceExistsException:
        pass


def deploy_ops(client, ops, assembly: Path | None, workdir: Path, timeline) -> Deployment:
    """The ops stack (issue 16), from the same assembly when it holds it, after its P0 routing key is in place."""
    create_ops_secret(client, ops)
    stack = naming.ops_stack_name()
    if assembly is None or not (assembly / f"{stack}.template.json").exists():
        assembly = synthesize(workdir / "cdk.out-ops", naming.OPS)
    deployment = deploy(client, assembly, stack, {})
    announce_deployment(timeline, deployment)
    return deployment


def announce_deployment(timeline, deployment: Deployment) -> None:
    timeline.add(
        "deploy",
        f"deployed {deployment.stack_name}: {len(deployment.resources)} resources, "
        f"state machines {', '.join(deployment.state_machines)}",
    )
    if deployment.skipped_types:
        timeline.add(
            "deploy",
            "moto has no model for "
            + ", ".join(deployment.skipped_types)
            + ": not deployed (access policies; nothing the sandbox runs depends on them)",
            1,
        )
