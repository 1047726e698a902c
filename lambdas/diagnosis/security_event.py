"""A security event's page (decision kind "security_event") reads nothing: the CloudTrail event itself says who
did what where (custom_details.security_event), and no automation acts on it."""

from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, target: str) -> dict[str, Any]:
    return {
        "reads": "none: the CloudTrail event is attached as security_event",
        "automatic_change": "none: a person judges security events",
    }
