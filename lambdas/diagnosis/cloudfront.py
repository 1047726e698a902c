"""Diagnosis of the customer's CloudFront distribution, attached to the page: its status, domain, whether it
is enabled, its origins and last change. Read-only; a call that fails is named in ``missing`` with why.

Its IAM is the cloudfront kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, distribution_id: str) -> dict[str, Any]:
    result: dict[str, Any] = {"distribution_id": distribution_id}
    try:
        d = clients("cloudfront").get_distribution(Id=distribution_id)["Distribution"]
        c = d.get("DistributionConfig", {})
        result.update(
            status=d.get("Status"),
            domain=d.get("DomainName"),
            enabled=c.get("Enabled"),
            last_modified=str(d.get("LastModifiedTime")),
            origins=[o.get("DomainName") for o in c.get("Origins", {}).get("Items", [])],
        )
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        result["missing"] = {"distribution": f"{type(exc).__name__}: {exc}"[:300]}
    return result
