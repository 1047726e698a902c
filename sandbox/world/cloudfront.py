"""The cloudfront kind's part of the simulated world. CloudFront's metrics exist only in us-east-1, so a
distribution is watched only by a stack in us-east-1 (catalog/kinds.py); the sandbox's customers are not
there, and moto cannot create a distribution under a given id: the world has none and says so."""

from pydantic import BaseModel, ConfigDict


class CloudFrontWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")


KEY = "cdn"  # world.cdn in scenario files and in the report
Spec = CloudFrontWorld
AWS_SERVICES: tuple[str, ...] = ()


def instance_of(operation: str, params: dict) -> str | None:
    return None


def check(config, specs: dict[str, CloudFrontWorld]) -> None:
    if specs:
        raise ValueError(
            "world.cdn: the sandbox does not simulate CloudFront distributions (moto cannot create "
            "one under the customer file's cdn.distribution_id)"
        )


def build(clients, config, specs: dict[str, CloudFrontWorld], account: str, region: str) -> None:
    """Nothing to build (see the module's docstring)."""


def install(patches) -> None:
    """Nothing to patch."""


def snapshot(clients, config) -> dict:
    return {}
