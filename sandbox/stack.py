"""Deploying the customer's synthesized stack into the offline AWS, as an operator would."""

from pathlib import Path

from catalog import naming
from sandbox.deploy import Deployment, deploy
from sandbox.synth import synthesize

ROUTING_KEY = "sandbox0routing0key0000000000000"  # 32 characters, like a PagerDuty integration key


def routing_key(team: str) -> str:
    """Each team's fake key (32 characters); the infrastructure team keeps ROUTING_KEY."""
    return ROUTING_KEY if team == "infrastructure" else f"sandbox0{team}".ljust(32, "0")[:32]


def team_of_key(config) -> dict[str, str]:
    """The fake keys, back to their teams: the report names the team a page went to, never the key."""
    return {routing_key(team): team for team in config.paging.teams}


def deploy_customer(client, customer: str, config, assembly: Path | None, workdir: Path, timeline) -> Deployment:
    assembly = assembly or synthesize(workdir / "cdk.out", customer)
    # operators put the routing key into Secrets Manager; the stack only references it by name
    secrets = client("secretsmanager")
    for team, settings in config.paging.teams.items():
        secrets.create_secret(Name=settings.secret, SecretString=routing_key(team))
    deployment = deploy(client, assembly, naming.stack_name(customer), {})
    timeline.add("deploy", f"deployed {deployment.stack_name}: {len(deployment.resources)} resources, "
                           f"state machines {', '.join(deployment.state_machines)}")
    if deployment.skipped_types:
        timeline.add("deploy", "moto has no model for " + ", ".join(deployment.skipped_types)
                     + ": not deployed (access policies; nothing the sandbox runs depends on them)", 1)
    return deployment
