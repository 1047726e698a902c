"""Diagnosis of the customer's API Gateway REST API, attached to the page: the API and its stage (deployment,
last change, throttling). Read-only; a part that fails is named in ``missing`` with why.

Its IAM is the api_gateway kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, api: str) -> dict[str, Any]:
    stage = config.api.stage if config.api else ""
    result: dict[str, Any] = {"api": api, "stage": stage}
    try:
        apis = [
            a
            for page in clients("apigateway").get_paginator("get_rest_apis").paginate()
            for a in page.get("items", [])
            if a.get("name") == api
        ]
        if not apis:
            return {**result, "missing": {"api": f"no REST API named {api}"}}
        result["api_id"] = apis[0]["id"]
        s = clients("apigateway").get_stage(restApiId=apis[0]["id"], stageName=stage)
        settings = s.get("methodSettings", {}).get("*/*", {})
        result.update(
            deployment=s.get("deploymentId"),
            last_updated=str(s.get("lastUpdatedDate")),
            throttling={"rate": settings.get("throttlingRateLimit"), "burst": settings.get("throttlingBurstLimit")},
        )
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        result["missing"] = {"stage": f"{type(exc).__name__}: {exc}"[:300]}
    return result
